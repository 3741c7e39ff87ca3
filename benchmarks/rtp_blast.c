/* The media benchmarks' generator and sink in C: what benchmarks/_rtp.py `run_streams`
 * does, for rates a Python loop cannot reach (it tops out near 500 calls, 50,000
 * packets/s each way; rtpengine is meant to carry ten times that).
 *
 * Same packets and rules as _rtp.py: every stream sends a 172-byte G.711 packet every
 * 20 ms, phases spread evenly over the period; the packet carries the stream id as the
 * SSRC, its sequence number and the CLOCK_MONOTONIC time it left (ns); a packet arriving
 * more than late_ms after it left is late, one not arrived `drain` seconds after the last
 * one left is lost.
 *
 * The sockets are opened by the Python side and inherited: argv gives
 * `seconds late_ms drain fd:side ...`; stdin gives one stream per line,
 * `source_socket_index dest_port arrives_on_side` (destinations on 127.0.0.1).
 * One thread sends (one sendmmsg per socket per millisecond slot), one receives
 * (epoll + recvmmsg). Prints one JSON object.
 *
 * Built by benchmarks/_rtp.py with the system's C compiler into build/bench/; not part
 * of dialtone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PERIOD_NS 20000000LL
#define SLOT_NS 1000000LL
#define SLOTS (PERIOD_NS / SLOT_NS)
#define SAMPLES 160
#define PACKET_BYTES (12 + SAMPLES)
#define BUCKET_SHIFT 17
#define BUCKETS 4096
#define BATCH 256

typedef struct {
    int source;
    struct sockaddr_in dest;
    int arrives_on;
    uint64_t received, late;
    uint64_t errors;
} stream_t;

static stream_t *streams;
static int nstreams;
static int *fds, *sides, nfds;
static long long cycles;
static long long late_ns;
static volatile int sending_done = 0;
static long long finish_at = 0;
static uint64_t delays[BUCKETS], lags[BUCKETS];
static uint64_t misdelivered = 0, foreign = 0;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long t) {
    struct timespec ts = {.tv_sec = t / 1000000000LL, .tv_nsec = t % 1000000000LL};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static void *sender(void *arg) {
    (void)arg;
    /* Streams by slot (their phase's millisecond), then by source socket. */
    int *order = malloc(sizeof(int) * nstreams);
    int *slot_start = calloc(SLOTS + 1, sizeof(int));
    int n = 0;
    for (int s = 0; s < SLOTS; s++) {
        slot_start[s] = n;
        for (int f = 0; f < nfds; f++)
            for (int k = 0; k < nstreams; k++) {
                long long phase = (long long)k * PERIOD_NS / nstreams;
                if (phase / SLOT_NS == s && streams[k].source == f) order[n++] = k;
            }
    }
    slot_start[SLOTS] = n;
    static unsigned char bufs[BATCH][PACKET_BYTES];
    struct mmsghdr msgs[BATCH];
    struct iovec iovs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        memset(bufs[i], 0xd5, PACKET_BYTES);
        bufs[i][0] = 0x80;
        bufs[i][1] = 0x08;
        iovs[i].iov_base = bufs[i];
        iovs[i].iov_len = PACKET_BYTES;
    }
    long long start = now_ns() + 20000000LL;
    for (long long cycle = 0; cycle < cycles; cycle++) {
        for (int s = 0; s < SLOTS; s++) {
            long long due = start + cycle * PERIOD_NS + s * SLOT_NS;
            long long t = now_ns();
            if (t < due) sleep_until(due);
            int i = slot_start[s];
            while (i < slot_start[s + 1]) {
                int src = streams[order[i]].source;
                int m = 0;
                long long sent_at = now_ns();
                long long lag = (sent_at - due) >> BUCKET_SHIFT;
                while (i < slot_start[s + 1] && m < BATCH && streams[order[i]].source == src) {
                    int k = order[i];
                    unsigned char *b = bufs[m];
                    b[2] = (cycle >> 8) & 0xff;
                    b[3] = cycle & 0xff;
                    put32(b + 4, (uint32_t)(cycle * SAMPLES));
                    put32(b + 8, (uint32_t)k);
                    uint64_t at = (uint64_t)sent_at;
                    for (int j = 0; j < 8; j++) b[12 + j] = at >> (56 - 8 * j);
                    memset(&msgs[m], 0, sizeof msgs[m]);
                    msgs[m].msg_hdr.msg_name = &streams[k].dest;
                    msgs[m].msg_hdr.msg_namelen = sizeof streams[k].dest;
                    msgs[m].msg_hdr.msg_iov = &iovs[m];
                    msgs[m].msg_hdr.msg_iovlen = 1;
                    lags[lag < BUCKETS - 1 ? lag : BUCKETS - 1]++;
                    m++;
                    i++;
                }
                int off = 0;
                while (off < m) {
                    int r = sendmmsg(fds[src], msgs + off, m - off, 0);
                    if (r < 0) {
                        if (errno == EAGAIN || errno == ENOBUFS) continue;
                        /* The first message failed: count it and go on with the rest. */
                        streams[order[i - m + off]].errors++;
                        off++;
                        continue;
                    }
                    off += r;
                }
            }
        }
    }
    finish_at = now_ns();
    sending_done = 1;
    free(order);
    free(slot_start);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: rtp_blast seconds late_ms drain fd:side... < streams\n");
        return 2;
    }
    double seconds = atof(argv[1]);
    late_ns = (long long)(atof(argv[2]) * 1e6);
    long long drain_ns = (long long)(atof(argv[3]) * 1e9);
    nfds = argc - 4;
    fds = calloc(nfds, sizeof(int));
    sides = calloc(nfds, sizeof(int));
    for (int i = 0; i < nfds; i++)
        if (sscanf(argv[4 + i], "%d:%d", &fds[i], &sides[i]) != 2) return 2;
    int cap = 1024;
    streams = calloc(cap, sizeof(stream_t));
    int source, port, arrives;
    while (scanf("%d %d %d", &source, &port, &arrives) == 3) {
        if (nstreams == cap) {
            cap *= 2;
            streams = realloc(streams, cap * sizeof(stream_t));
        }
        stream_t *s = &streams[nstreams++];
        memset(s, 0, sizeof *s);
        s->source = source;
        s->dest.sin_family = AF_INET;
        s->dest.sin_port = htons(port);
        s->dest.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s->arrives_on = arrives;
    }
    if (nstreams == 0) return 2;
    cycles = (long long)(seconds * 1e9 / PERIOD_NS + 0.5);
    if (cycles < 1) cycles = 1;

    int ep = epoll_create1(0);
    for (int i = 0; i < nfds; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    pthread_t tid;
    pthread_create(&tid, NULL, sender, NULL);

    static unsigned char rbufs[BATCH][512];
    struct mmsghdr rmsgs[BATCH];
    struct iovec riovs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        riovs[i].iov_base = rbufs[i];
        riovs[i].iov_len = sizeof rbufs[i];
    }
    struct epoll_event events[64];
    for (;;) {
        if (sending_done && now_ns() >= finish_at + drain_ns) break;
        int n = epoll_wait(ep, events, 64, 5);
        for (int e = 0; e < n; e++) {
            int idx = (int)events[e].data.u32;
            for (;;) {
                for (int i = 0; i < BATCH; i++) {
                    memset(&rmsgs[i].msg_hdr, 0, sizeof rmsgs[i].msg_hdr);
                    rmsgs[i].msg_hdr.msg_iov = &riovs[i];
                    rmsgs[i].msg_hdr.msg_iovlen = 1;
                }
                int r = recvmmsg(fds[idx], rmsgs, BATCH, MSG_DONTWAIT, NULL);
                if (r <= 0) break;
                long long arrived = now_ns();
                for (int i = 0; i < r; i++) {
                    unsigned char *b = rbufs[i];
                    if (rmsgs[i].msg_len < 20) {
                        foreign++;
                        continue;
                    }
                    uint32_t k = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | (uint32_t)b[10] << 8 | b[11];
                    uint64_t at = 0;
                    for (int j = 0; j < 8; j++) at = at << 8 | b[12 + j];
                    if (k >= (uint32_t)nstreams) {
                        misdelivered++;
                        continue;
                    }
                    long long delay = arrived - (long long)at;
                    long long bucket = delay < 0 ? 0 : delay >> BUCKET_SHIFT;
                    delays[bucket < BUCKETS - 1 ? bucket : BUCKETS - 1]++;
                    streams[k].received++;
                    if (delay > late_ns) streams[k].late++;
                    if (streams[k].arrives_on != sides[idx]) misdelivered++;
                }
                if (r < BATCH) break;
            }
        }
    }
    pthread_join(tid, NULL);
    uint64_t sent = 0, received = 0, lost = 0, late = 0, dup = 0, errors = 0;
    for (int k = 0; k < nstreams; k++) {
        uint64_t s = (uint64_t)cycles - streams[k].errors;
        sent += s;
        errors += streams[k].errors;
        received += streams[k].received;
        late += streams[k].late;
        if (streams[k].received < s) lost += s - streams[k].received;
        else dup += streams[k].received - s;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"streams\": %d, \"cycles\": %lld, \"sent\": %lu, \"received\": %lu, \"lost\": %lu, "
           "\"late\": %lu, \"duplicated\": %lu, \"misdelivered\": %lu, \"send_errors\": %lu, "
           "\"cpu_seconds\": %.3f, \"delays\": [",
           nstreams, cycles, sent, received, lost, late, dup, misdelivered, errors,
           ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    for (int i = 0; i < BUCKETS; i++) printf(i ? ",%lu" : "%lu", delays[i]);
    printf("], \"lags\": [");
    for (int i = 0; i < BUCKETS; i++) printf(i ? ",%lu" : "%lu", lags[i]);
    printf("]}\n");
    return 0;
}
