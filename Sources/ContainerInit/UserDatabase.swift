// USER as Docker reads it: "name", "uid", "name:group", "uid:gid", looked
// up in the image's /etc/passwd and /etc/group. A numeric uid needs no
// passwd entry (its gid is then 0); a name must have one.

struct ResolvedUser: Equatable {
    var uid: UInt32
    var gid: UInt32
    var supplementaryGroups: [UInt32]
    var home: String
}

struct PasswdEntry: Equatable { var name: String; var uid: UInt32; var gid: UInt32; var home: String }
struct GroupEntry: Equatable { var name: String; var gid: UInt32; var members: [String] }

func parsePasswd(_ text: String) -> [PasswdEntry] {
    text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 6, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
        return PasswdEntry(name: String(fields[0]), uid: uid, gid: gid, home: String(fields[5]))
    }
}

func parseGroups(_ text: String) -> [GroupEntry] {
    text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 3, let gid = UInt32(fields[2]) else { return nil }
        let members = fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []
        return GroupEntry(name: String(fields[0]), gid: gid, members: members)
    }
}

func resolveUser(_ spec: String, passwd: [PasswdEntry], groups: [GroupEntry]) throws(InitError) -> ResolvedUser {
    let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
    let userPart = parts.first ?? ""
    let groupPart = parts.count > 1 ? parts[1] : nil

    var uid: UInt32 = 0
    var gid: UInt32 = 0
    var home = "/"
    var userName: String?
    if userPart.isEmpty {
        if let root = passwd.first(where: { $0.uid == 0 }) { home = root.home; userName = root.name }
        else { home = "/root" }
    } else if let number = UInt32(userPart) {
        uid = number
        if let entry = passwd.first(where: { $0.uid == number }) {
            gid = entry.gid; home = entry.home; userName = entry.name
        }
    } else {
        guard let entry = passwd.first(where: { $0.name == userPart }) else {
            throw .cannotStart(message: "unable to find user \(userPart): no matching entries in passwd file", status: 126)
        }
        uid = entry.uid; gid = entry.gid; home = entry.home; userName = entry.name
    }
    if let groupPart, !groupPart.isEmpty {
        if let number = UInt32(groupPart) {
            gid = number
        } else {
            guard let entry = groups.first(where: { $0.name == groupPart }) else {
                throw .cannotStart(message: "unable to find group \(groupPart): no matching entries in group file", status: 126)
            }
            gid = entry.gid
        }
    }
    var supplementary: [UInt32] = [gid]
    if let userName {
        for group in groups where group.members.contains(userName) && !supplementary.contains(group.gid) {
            supplementary.append(group.gid)
        }
    }
    return ResolvedUser(uid: uid, gid: gid, supplementaryGroups: supplementary, home: home.isEmpty ? "/" : home)
}
