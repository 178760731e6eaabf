/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every map of the kpx datapath. Names are MAP_NAMES in src/datapath/abi.ts; each map is
 * pinned by name under the pin root userspace passes at open, so a restarted agent (C5)
 * reuses the live maps instead of creating empty ones. Key and value types are the ABI
 * structs of abi.h, BTF-defined so `bpftool map dump pinned …` prints named fields.
 */
#ifndef KPX_MAPS_H
#define KPX_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "constants.h"

/* Frontends and their backend slots, keyed by kpx_svc_key (VIP, port, proto, scope,
 * slot). Written only by the control plane, in the order backends, slots, slot 0, so
 * any slot below slot 0's count names a live backend. Not preallocated: memory follows
 * the number of services, and the datapath never inserts into it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KPX_SERVICES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct kpx_svc_key);
	__type(value, struct kpx_svc_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_services_v1 SEC(".maps");

/* Backends, keyed by __u32 backend id (never 0). Written only by the control plane; a
 * removed backend is deleted, which is how the datapath learns to move its flows (C2). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, KPX_BACKENDS_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct kpx_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_backends_v1 SEC(".maps");

/* Connection tracking, keyed by kpx_ct_key (tuple as it arrives + direction). Written by
 * the datapath (one FORWARD and one REPLY entry per flow); userspace only reads it or
 * deletes entries. LRU so that a full table evicts the oldest flows instead of failing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KPX_CT_MAX);
	__type(key, struct kpx_ct_key);
	__type(value, struct kpx_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_ct_v1 SEC(".maps");

/* The ports of fragmented datagrams (parse.h): written from a datagram's first
 * fragment, read by the ones after it. LRU: a datagram whose later fragments never come
 * leaves an entry that the next ones push out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KPX_FRAGS_MAX);
	__type(key, struct kpx_frag_key);
	__type(value, struct kpx_frag_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_frags_v1 SEC(".maps");

/* The backend generation: one __u32 at key 0, incremented by the control plane after
 * every write that deleted a backend or changed one (src/reconciler/reconciler.ts), and
 * when it adopts pinned state. Conntrack FORWARD entries cache their backend's address
 * under the generation they read it at; a different generation sends the next packet
 * to the backends map again, which is how a removed backend still moves its flows at
 * once (C2). An array: the verifier inlines the lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_backend_gen_v1 SEC(".maps");

/* The SNAT port cursor (snat.h): one __u32 at key 0, written by the datapath only. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_snat_cursor_v1 SEC(".maps");

/* ClientIP session affinity (A1), keyed by kpx_affinity_key (client address, frontend
 * svc_id). Written by the datapath on every new flow to an affinity frontend. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KPX_AFFINITY_MAX);
	__type(key, struct kpx_affinity_key);
	__type(value, struct kpx_affinity_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_affinity_v1 SEC(".maps");

/* Per-CPU packet and byte counters, keyed by enum kpx_reason. Written by the datapath;
 * userspace sums the CPUs (sumPerCpuCounter in abi.ts). (The kernel requires an array
 * map's BTF key to be an integer, so the key cannot be typed as the enum.) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KPX_R_MAX);
	__type(key, __u32);
	__type(value, struct kpx_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_counters_v1 SEC(".maps");

/* Node-wide settings (struct kpx_config), an array of one entry at key 0. Written by the
 * agent at start and when the node's addresses change; read by the datapath for SNAT
 * (node_addr, port range) and hairpin (hairpin_addr). All zero means unset: flows that
 * need SNAT or hairpin are then dropped (DROP_NO_CONFIG), everything else works. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kpx_config);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_config_v1 SEC(".maps");

/* loadBalancerSourceRanges (T5): longest-prefix match on (svc_id, source address), keyed
 * by kpx_srcrange_key; the value is unused (1). Written by the control plane for LB
 * frontends with KPX_SVC_F_SOURCE_RANGES, under the svc_id of their SCOPE_EXTERNAL entry.
 * A frontend with the flag and no entry here admits no one. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, KPX_SRCRANGE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct kpx_srcrange_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_srcrange_v1 SEC(".maps");

/* Per-frontend statistics (struct kpx_svc_stats, per CPU) in two maps, written by the
 * datapath only (svc_stats.h): one lookup and in-place adds per packet attributed to a
 * frontend. Frontend ids are allocated from 1 upward and mostly stay small, so the
 * common case is an array indexed by svc_id, whose lookup the verifier inlines (a
 * hash lookup costs ~30 ns more per packet: bench/datapath-testrun.ts); ids beyond the
 * array go to the LRU hash. Userspace reads both at scrape time, zeroes the slots and
 * deletes the entries of ids no frontend owns any more. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KPX_SVC_STATS_DENSE_MAX);
	__type(key, __u32);
	__type(value, struct kpx_svc_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_svc_stats_dense_v1 SEC(".maps");

/* The ids at or above the array's capacity, keyed by __u32 svc_id. LRU: an entry is
 * created by the first packet of an id, and a full map forgets the ids idle longest
 * instead of refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, KPX_SVC_STATS_MAX);
	__type(key, __u32);
	__type(value, struct kpx_svc_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_svc_stats_v1 SEC(".maps");

#ifndef KPX_SOCK_REV_MAX
#define KPX_SOCK_REV_MAX 65536 /* LRU: up to two entries per node UDP socket and frontend */
#endif

/* Translations of the node's own UDP sockets (sock.h), keyed by kpx_sock_rev_key
 * (socket cookie, address, direction). Written by the cgroup connect4/sendmsg4 programs,
 * read by sendmsg4/recvmsg4/getpeername4; userspace only reads it. LRU: a socket's
 * entries are never deleted when it closes, the oldest are evicted instead. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, KPX_SOCK_REV_MAX);
	__type(key, struct kpx_sock_rev_key);
	__type(value, struct kpx_sock_rev_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpx_sock_rev_v1 SEC(".maps");

#endif /* KPX_MAPS_H */
