/*
 * vigil-init: PID 1 of every vigil container.
 *
 * It keeps the container's namespaces alive while business processes come and
 * go, reaps every process that is reparented to it (double-forked daemons and
 * the business processes themselves, which the helper starts as orphans), and
 * forwards termination signals to everything else in the pid namespace.
 *
 * It exits only when told: after SIGTERM/SIGINT it forwards the signal and
 * exits once no process is left. With no business process running it simply
 * waits, so the monitor can start one again in the same namespaces.
 *
 * All signals stay blocked and are taken with sigwaitinfo(): a blocked signal
 * is never discarded for a namespace init, even one sent from the host.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Reap every exited child; returns true when no child is left at all. */
static bool reap_all(void)
{
	for (;;) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);
		if (pid > 0)
			continue;
		if (pid < 0 && errno == EINTR)
			continue;
		return pid < 0 && errno == ECHILD;
	}
}

static bool is_forwarded(int sig)
{
	switch (sig) {
	case SIGTERM: case SIGINT: case SIGHUP: case SIGQUIT:
	case SIGUSR1: case SIGUSR2:
		return true;
	default:
		return false;
	}
}

int main(void)
{
	sigset_t all;
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, NULL) != 0) {
		perror("vigil-init: sigprocmask");
		return 125;
	}
	/* Outside a pid namespace (tests, misuse) still adopt orphans. */
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	prctl(PR_SET_NAME, "vigil-init", 0, 0, 0);

	bool terminating = false;
	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(&all, &info);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			perror("vigil-init: sigwaitinfo");
			return 125;
		}
		if (sig == SIGCHLD) {
			if (reap_all() && terminating)
				return 0;
			continue;
		}
		if (!is_forwarded(sig))
			continue;
		/* kill(-1) reaches every process of this pid namespace but init. */
		kill(-1, sig);
		if (sig == SIGTERM || sig == SIGINT) {
			terminating = true;
			if (reap_all())
				return 0;
		}
	}
}
