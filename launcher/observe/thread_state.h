/*
 * What each launcher thread is doing right now, in one word each, for the profiler's per-tick
 * account of the threads (observe/profiler.c). The vCPU loop and the wait hypercall set the
 * vCPU thread's word, the I/O thread its own around epoll_wait and its polling; the profiler's
 * signal handler reads both. Relaxed atomics: a tick may see a state a few instructions late, never
 * a torn one.
 */
#ifndef RINGVISOR_OBSERVE_THREAD_STATE_H
#define RINGVISOR_OBSERVE_THREAD_STATE_H

enum vcpu_state {
	VCPU_IN_LAUNCHER, /* exits, hypercalls, start-up: the launcher's own work */
	VCPU_IN_GUEST,	  /* inside KVM_RUN */
	VCPU_WAITING,	  /* the wait hypercall: the guest has nothing to do */
	VCPU_STATES,
};

enum io_state {
	IO_BUSY,    /* moving frames, ticks */
	IO_WAITING, /* in epoll_wait */
	IO_POLLING, /* looking for work before it sleeps (--poll) */
	IO_STATES,
};

extern int thread_state_vcpu, thread_state_io;

static inline void thread_state_set_vcpu(enum vcpu_state state)
{
	__atomic_store_n(&thread_state_vcpu, (int)state, __ATOMIC_RELAXED);
}

static inline void thread_state_set_io(enum io_state state)
{
	__atomic_store_n(&thread_state_io, (int)state, __ATOMIC_RELAXED);
}

#endif
