// Linux readiness and socket calls that SwiftGlibc does not import (epoll, eventfd, accept4).
// No _GNU_SOURCE here: it clashes with SwiftGlibc (docs/design/platform-notes.md §2). The wrappers keep the
// packed `struct epoll_event` (x86_64) on the C side, so Swift never has to mirror its layout.
#ifndef ECD_C_EPOLL_SHIM_H
#define ECD_C_EPOLL_SHIM_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>

extern int accept4(int, struct sockaddr *, socklen_t *, int);

static const uint32_t ecd_EPOLLIN = EPOLLIN;
static const uint32_t ecd_EPOLLOUT = EPOLLOUT;
static const uint32_t ecd_EPOLLERR = EPOLLERR;
static const uint32_t ecd_EPOLLHUP = EPOLLHUP;
static const uint32_t ecd_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t ecd_EPOLLEXCLUSIVE = EPOLLEXCLUSIVE;

static inline int ecd_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static inline int ecd_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    ev.events = events;
    ev.data.u64 = data;
    return epoll_ctl(epfd, op, fd, &ev);
}
static inline int ecd_epoll_add(int epfd, int fd, uint32_t events, uint64_t data) {
    return ecd_epoll_ctl(epfd, EPOLL_CTL_ADD, fd, events, data);
}
static inline int ecd_epoll_mod(int epfd, int fd, uint32_t events, uint64_t data) {
    return ecd_epoll_ctl(epfd, EPOLL_CTL_MOD, fd, events, data);
}
static inline int ecd_epoll_del(int epfd, int fd) {
    struct epoll_event ev = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &ev);
}

/// Waits and copies the ready events into two flat arrays (events, data), so the Swift side
/// needs no knowledge of the struct's packing. `max` must not exceed 256.
static inline int ecd_epoll_wait(int epfd, uint32_t *events, uint64_t *data, int max, int timeout_ms) {
    struct epoll_event buf[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, buf, max, timeout_ms);
    for (int i = 0; i < n; i++) {
        events[i] = buf[i].events;
        data[i] = buf[i].data.u64;
    }
    return n;
}

static inline int ecd_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

static inline int ecd_accept4(int fd, struct sockaddr *addr, socklen_t *len) {
    return accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

/// CPUs this process may run on (its affinity mask: taskset, cpusets, systemd CPUAffinity),
/// or -1. Through the raw syscall, since sched_getaffinity/CPU_COUNT need _GNU_SOURCE.
static inline int ecd_allowed_cpu_count(void) {
    unsigned long mask[64] = {0};
    long bytes = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    if (bytes <= 0) return -1;
    int count = 0;
    for (long i = 0; i < bytes / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count;
}

#endif
