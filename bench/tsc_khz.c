/* Prints the host TSC rate in kHz, measured against CLOCK_MONOTONIC over
 * 200 ms.  Under TCG the guest's RDTSC returns the host TSC, so this is the
 * tsc_early_khz every firmware's boot is given (bench/run.py). */
#include <stdio.h>
#include <time.h>
#include <x86intrin.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    struct timespec pause = {0, 200000000};
    double a = now();
    unsigned long long x = __rdtsc();
    nanosleep(&pause, 0);
    double b = now();
    unsigned long long y = __rdtsc();
    printf("%.0f\n", (double)(y - x) / (b - a) / 1000.0);
    return 0;
}
