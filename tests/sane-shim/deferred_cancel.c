/*
 * deferred_cancel.c - preloaded into tests that drive the SANE `test` backend.
 *
 * The backend's reader runs in a sanei_thread that switches itself to
 * asynchronous cancellation, and sane_cancel() - and sane_read() at the end of
 * every page - cancel it with pthread_cancel(). Cancelled inside malloc() or
 * free(), it dies holding an allocator lock and the process hangs at the next
 * allocation in that arena (seen about once in 500 pages). Forcing deferred
 * cancellation moves the cancel to the reader's next cancellation point
 * (write(), usleep()), which is what the backend needs. Nothing of scankiosk uses
 * asynchronous cancellation; this only repairs the backend under test.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

int pthread_setcanceltype(int type, int *oldtype)
{
	static int (*real)(int, int *);
	if (!real) {
		/* POSIX dlsym() returns functions through an object pointer. */
		void *sym = dlsym(RTLD_NEXT, "pthread_setcanceltype");
		memcpy(&real, &sym, sizeof(real));
	}
	(void)type;
	return real ? real(PTHREAD_CANCEL_DEFERRED, oldtype) : 0;
}
