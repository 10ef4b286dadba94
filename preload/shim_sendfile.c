/*
 * shim_sendfile.c — sendfile(2) into a socket of our stack without a copy in
 * the library: a regular file's range is handed to the stack by reference
 * (netio_send_ref), from a read-only shared mapping of the file, and the
 * stack writes the bytes once, into the frames (tx_fill_frame_bytes). The
 * kernel's own sendfile does the same with page-cache pages.
 *
 * Mappings: windows of SF_WIN bytes (aligned), MAP_SHARED | MAP_POPULATE,
 * keyed by the file's device, inode and ctime (a write or a truncate changes
 * the ctime, so a changed file gets new mappings; a recycled inode number
 * too). A mapping is pinned by every socket whose unacknowledged bytes come
 * from it (struct sf_pin: the connection, its incarnation and the sequence
 * after its last byte from there); ustack_tx_released says when the stack
 * needs them no more (acknowledged, connection gone), even after the program
 * closed the socket while the FIN still waits behind them. Unpinned mappings
 * stay cached (SF_CACHE bytes at most, oldest first out): a file served
 * again costs no mmap.
 *
 * Linux semantics kept (checked against the kernel's, tests/integration/
 * 78_preload_semantics.sh): EBADF for a bad or write-only in_fd, ESPIPE for
 * an offset on a pipe or socket, EINVAL for a negative offset (count 0
 * included), for a pipe, socket or directory; count above MAX_RW_COUNT is
 * cut to it; a file shorter than the range sends to its end; at or past the
 * end 0; *offset updated, or the file position advanced when offset is NULL;
 * a non-blocking socket takes what fits, then EAGAIN; other files (character
 * or block devices) are read through a buffer, as they have no pages to
 * point at.
 *
 * Limit: a file truncated while the stack still holds unacknowledged bytes
 * of the cut part makes the next retransmission of them touch a page past
 * the end (SIGBUS), where the kernel would send its pinned pages. Servers
 * replace files (rename) rather than truncate them in place.
 */
#include "preload/shim_int.h"

#include "drivers/ustack/ustack_query.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SF_WIN (4u << 20)     /* bytes per mapping window */
#define SF_CACHE (64u << 20)  /* unpinned mappings kept, bytes */
#define SF_MAX_RW 0x7ffff000  /* Linux's MAX_RW_COUNT (INT_MAX & PAGE_MASK) */
#define SF_BOUNCE (64 * 1024) /* device files: read a chunk at a time */

struct sf_map {
    dev_t dev;
    ino_t ino;
    struct timespec ctim;
    off_t off; /* window start in the file */
    size_t len;
    uint8_t *base;
    int pins;
    uint64_t used; /* use clock: the least recent goes first */
    struct sf_map *next;
};

struct sf_pin {
    struct sf_map *m;
    int conn;
    uint32_t iss, end;
    struct sf_pin *next;
};

static struct sf_map *maps;
static size_t mapped; /* bytes of all mappings */
static uint64_t use_clock;
static struct sf_pin *orphans; /* pins of sockets that let go of their connection */

static void map_evict(void)
{
    while (mapped > SF_CACHE) {
        struct sf_map **victim = NULL;
        for (struct sf_map **pp = &maps; *pp; pp = &(*pp)->next)
            if (!(*pp)->pins && (!victim || (*pp)->used < (*victim)->used)) victim = pp;
        if (!victim) return; /* all pinned: they go as the stack lets go */
        struct sf_map *m = *victim;
        *victim = m->next;
        munmap(m->base, m->len);
        mapped -= m->len;
        G.st.sendfile_unmaps++;
        free(m);
    }
}

/* The mapping of st's file that holds pos (and as much after it as the file
 * has, up to the window's end), made if need be; NULL with errno. */
static struct sf_map *map_get(int fd, const struct stat *st, off_t pos)
{
    off_t woff = pos & ~(off_t)(SF_WIN - 1);
    size_t want = st->st_size - woff < SF_WIN ? (size_t)(st->st_size - woff) : SF_WIN;
    for (struct sf_map *m = maps; m; m = m->next)
        if (m->ino == st->st_ino && m->dev == st->st_dev && m->off == woff && m->len >= want &&
            m->ctim.tv_sec == st->st_ctim.tv_sec && m->ctim.tv_nsec == st->st_ctim.tv_nsec) {
            m->used = ++use_clock;
            return m;
        }
    struct sf_map *m = calloc(1, sizeof(*m));
    if (!m) return NULL;
    void *p = mmap(NULL, want, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, woff);
    if (p == MAP_FAILED) {
        free(m);
        return NULL;
    }
    *m = (struct sf_map){.dev = st->st_dev,
                         .ino = st->st_ino,
                         .ctim = st->st_ctim,
                         .off = woff,
                         .len = want,
                         .base = p,
                         .used = ++use_clock,
                         .next = maps};
    maps = m;
    mapped += want;
    G.st.sendfile_maps++;
    map_evict();
    return m;
}

static void unpin(struct sf_pin *p)
{
    p->m->pins--;
    free(p);
}

/* Drops the pins at the head of *list the stack no longer needs (a
 * connection's pins are in sequence order); whole list when all = 1. */
static void reap_list(struct sf_pin **list, int all)
{
    for (struct sf_pin **pp = list; *pp;) {
        struct sf_pin *p = *pp;
        if (G.io && !ustack_tx_released(G.io, p->conn, p->iss, p->end)) {
            if (!all) return;
            pp = &p->next;
            continue;
        }
        *pp = p->next;
        unpin(p);
    }
}

void sf_orphan(struct psock *ps)
{
    while (ps->pins) {
        struct sf_pin *p = ps->pins;
        ps->pins = p->next;
        p->next = orphans;
        orphans = p;
    }
}

void sf_reap(void)
{
    if (orphans) reap_list(&orphans, 1);
    if (mapped > SF_CACHE) map_evict();
}

/* The bytes just queued from m on ps's connection: pinned until acked. */
static void pin(struct psock *ps, struct sf_map *m)
{
    uint32_t iss, end;
    if (ustack_tx_mark(G.io, ps->h, &iss, &end) < 0) return;
    struct sf_pin **pp = &ps->pins;
    while (*pp && (*pp)->next)
        pp = &(*pp)->next;
    if (*pp && (*pp)->m == m && (*pp)->conn == ps->h && (*pp)->iss == iss) {
        (*pp)->end = end; /* the same window, further on */
        return;
    }
    struct sf_pin *p = malloc(sizeof(*p));
    if (!p) { /* cannot track it: keep the mapping for good rather than unmap it under the stack */
        m->pins++;
        return;
    }
    *p = (struct sf_pin){.m = m, .conn = ps->h, .iss = iss, .end = end};
    m->pins++;
    if (*pp)
        (*pp)->next = p;
    else
        ps->pins = p;
}

/* Device files (no pages to point at): through a buffer, as before. */
static ssize_t send_chunk_read(struct psock *ps, int in_fd, off_t pos, int use_pos, size_t n)
{
    static __thread uint8_t *bounce;
    if (!bounce && !(bounce = malloc(SF_BOUNCE))) return -ENOMEM;
    if (n > SF_BOUNCE) n = SF_BOUNCE;
    ssize_t r = use_pos ? pread(in_fd, bounce, n, pos) : read(in_fd, bounce, n);
    if (r <= 0) return r < 0 ? -errno : 0;
    ssize_t s = netio_send(G.io, ps->h, bounce, (size_t)r);
    if (s < 0) s = 0;
    if (s < r && !use_pos) lseek(in_fd, s - r, SEEK_CUR); /* give back what did not fit */
    G.st.sendfile_read_bytes += (uint64_t)s;
    return s;
}

ssize_t ps_sendfile(struct psock *ps, int in_fd, off_t *offset, size_t count)
{
    struct stat st;
    int fl = fcntl(in_fd, F_GETFL);
    if (fl < 0 || fstat(in_fd, &st) < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
        return unlock_fail(EBADF);
    int seekable = !S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode);
    off_t pos;
    if (offset) {
        if (!seekable) return unlock_fail(ESPIPE);
        pos = *offset;
    } else {
        pos = seekable ? lseek(in_fd, 0, SEEK_CUR) : 0;
        if (pos < 0) pos = 0; /* a device without a position */
    }
    if ((ssize_t)count < 0 || pos < 0 || (off_t)count > LLONG_MAX - pos) return unlock_fail(EINVAL);
    if (count > SF_MAX_RW) count = SF_MAX_RW;
    if (!seekable || S_ISDIR(st.st_mode)) return unlock_fail(EINVAL); /* as splice refuses */
    int regular = S_ISREG(st.st_mode);
    /* by reference: a regular file with pages (procfs and sysfs files say
     * size 0 and are read instead, as are files mmap refuses) */
    int by_ref = regular && st.st_size > 0;
    if (ps->pins) reap_list(&ps->pins, 0);
    size_t sent = 0;
    for (int pumped = 0; sent < count;) {
        int wait;
        int e = send_state(ps, &wait);
        if (e) {
            if (sent) break;
            if (e == EPIPE) sigpipe(0);
            return unlock_fail(e);
        }
        size_t space = wait ? 0 : ps_tx_room(ps);
        if (space) {
            size_t n = count - sent < space ? count - sent : space;
            ssize_t s;
            struct sf_map *m = NULL;
            if (by_ref) {
                if (pos >= st.st_size) break; /* end of file */
                if ((off_t)n > st.st_size - pos) n = (size_t)(st.st_size - pos);
                m = map_get(in_fd, &st, pos);
                if (!m && errno == ENOMEM) {
                    if (sent) break;
                    return unlock_fail(ENOMEM);
                }
                by_ref = m != NULL; /* ENODEV, EACCES: this file is read */
            }
            if (m) {
                size_t avail = (size_t)(m->off + (off_t)m->len - pos);
                if (n > avail) n = avail;
                struct netio_src src = {.base = m->base, .period = 0};
                s = netio_send_ref(G.io, ps->h, &src, (uint64_t)(pos - m->off), n);
                if (s > 0) {
                    pin(ps, m);
                    G.st.sendfile_mapped_bytes += (uint64_t)s;
                }
            } else {
                s = send_chunk_read(ps, in_fd, pos, offset != NULL, n);
                if (s < 0) {
                    if (sent) break;
                    return unlock_fail((int)-s);
                }
            }
            if (s <= 0) break; /* end of the data */
            pos += s;
            sent += (size_t)s;
            continue;
        }
        if (!pumped) {
            shim_pump();
            pumped = 1;
            continue;
        }
        /* blocking: until all is sent, as the kernel's splice loop does */
        int w = ps_send_wait(ps, ps->nonblock, sent);
        if (w < 0) return -1;
        if (w) break;
    }
    if (offset)
        *offset = pos;
    else if (regular)
        lseek(in_fd, pos, SEEK_SET);
    G.st.sendfile_bytes += sent;
    if (sent) netio_flush(G.io);
    shim_unlock();
    return (ssize_t)sent;
}
