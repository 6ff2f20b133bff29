/*
 * bench-storm: a fork/exit storm for the detection benchmark.
 *
 *   bench-storm RATE WORKERS
 *
 * WORKERS processes together start and reap RATE short-lived children a
 * second (vfork + _exit: the cheapest real process exit), paced against
 * CLOCK_MONOTONIC, until SIGTERM or SIGINT. Each worker then prints
 * "exits N seconds S" on stdout, so the harness can check the rate reached.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void worker(double rate)
{
	double start = now(), elapsed = 0;
	long done = 0;
	while (!stop) {
		elapsed = now() - start;
		long due = (long)(elapsed * rate);
		if (done >= due) {
			/* ahead of the pace: sleep a millisecond's share */
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			continue;
		}
		pid_t pid = vfork();
		if (pid == 0)
			_exit(0);
		if (pid > 0 && waitpid(pid, NULL, 0) == pid)
			done++;
	}
	printf("exits %ld seconds %.3f\n", done, now() - start);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	if (argc != 3 || atof(argv[1]) <= 0 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: bench-storm RATE WORKERS\n");
		return 2;
	}
	double rate = atof(argv[1]);
	int workers = atoi(argv[2]);
	struct sigaction sa = { .sa_handler = on_stop };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	pid_t kids[64];
	if (workers > 64)
		workers = 64;
	for (int i = 0; i < workers; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			worker(rate / workers);
			_exit(0);
		}
	}
	while (!stop)
		pause();
	for (int i = 0; i < workers; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (int i = 0; i < workers; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	return 0;
}
