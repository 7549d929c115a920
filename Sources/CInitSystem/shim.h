#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// errno is a macro over a thread-local; Swift cannot read it directly in
// Embedded mode.
static inline int init_errno(void) { return errno; }
// The wait-status macros are not importable into Swift.
static inline int init_exited(int status) { return WIFEXITED(status); }
static inline int init_exit_status(int status) { return WEXITSTATUS(status); }
static inline int init_signaled(int status) { return WIFSIGNALED(status); }
static inline int init_term_signal(int status) { return WTERMSIG(status); }
// open() is variadic, which Swift cannot call.
static inline int init_open_read(const char *path) { return open(path, O_RDONLY | O_CLOEXEC); }
