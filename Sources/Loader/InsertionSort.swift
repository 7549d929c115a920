extension Array {
    /// Sorts in place by insertion. The firmware sorts only short lists (a
    /// kernel's segments, a memory map's boundaries), and the standard
    /// library's merge sort would add about 5 KB to a 64 KiB image.
    mutating func insertionSort(by areInIncreasingOrder: (Element, Element) -> Bool) {
        guard count > 1 else { return }
        for index in 1..<count {
            let element = self[index]
            var position = index
            while position > 0 && areInIncreasingOrder(element, self[position - 1]) {
                self[position] = self[position - 1]
                position -= 1
            }
            self[position] = element
        }
    }
}
