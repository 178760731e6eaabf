/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* The map ABI: every key and value that userspace reads or writes. Mirrored field for
 * field in src/datapath/abi.ts; test/datapath/abi.test.ts checks sizes and offsets
 * against the BTF of the committed object. Padding is explicit so that no byte of a key
 * is left uninitialised. A layout change gets a new map name (…_v2), never an in-place edit.
 * Addresses and ports are in network byte order.
 */
#ifndef KPX_ABI_H
#define KPX_ABI_H

#include <linux/types.h>

/* kpx_services_v1 key. Slot 0 is the frontend (VIP, port, protocol); slots 1..count
 * name the backends. */
struct kpx_svc_key {
	__be32 addr;
	__be16 port;
	__u16 slot;
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 scope; /* KPX_SCOPE_* */
	__u8 pad[2];
};

struct kpx_svc_value {
	__u32 backend_id; /* slot > 0: key of kpx_backends_v1; slot 0: 0 */
	__u32 svc_id; /* stable frontend id (reverse NAT, affinity, counters); never 0 */
	__u16 count; /* slot 0: number of backend slots; 0 = no usable backend */
	__u16 flags; /* slot 0: KPX_SVC_F_* */
	__u32 affinity_timeout_s; /* slot 0: ClientIP affinity timeout */
};

/* kpx_backends_v1 value, keyed by __u32 backend id (never 0). Ids are allocated per
 * frontend, so removing a backend from one frontend deletes exactly its id. */
struct kpx_backend {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 state; /* KPX_BACKEND_* */
	__u32 svc_id; /* owning frontend */
};

/* kpx_ct_v1 key: a packet's tuple as it arrives, plus the direction it was recorded for. */
struct kpx_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* KPX_CT_FORWARD or KPX_CT_REPLY */
	__u8 pad[2];
};

struct kpx_ct_value {
	__u64 last_seen_ns; /* ns of the last packet, kpx clock (kpx_now() in conntrack.h) */
	/* REPLY: the frontend address and port to restore as source.
	 * FORWARD with KPX_CT_F_BACKEND_CACHED: backend_id's address and port, as the
	 * backends map held them at backend_gen (conntrack.h: the backend cache). */
	__be32 nat_addr;
	__be16 nat_port;
	__u16 flags; /* KPX_CT_F_* */
	__u32 backend_id; /* FORWARD: chosen backend; REPLY: the same backend */
	__u32 svc_id;
	/* Only with KPX_CT_F_SNAT (the source was translated too: remote backend of an
	 * external flow, hairpin). FORWARD: the source address and port to write.
	 * REPLY: the client address and port to restore as destination. */
	__be32 peer_addr;
	__be16 peer_port;
	__u16 backend_gen; /* FORWARD with KPX_CT_F_BACKEND_CACHED: low 16 bits of the
			    * kpx_backend_gen_v1 value the cache was filled under */
};

/* kpx_affinity_v1: ClientIP session affinity (A1). */
struct kpx_affinity_key {
	__be32 client;
	__u32 svc_id;
};

struct kpx_affinity_value {
	__u64 last_used_ns;
	__u32 backend_id;
	__u32 pad;
};

/* kpx_frags_v1: the ports of a fragmented datagram, learnt from its first fragment for
 * the fragments after it, which carry no L4 header. Keyed as the fragments arrive. */
struct kpx_frag_key {
	__be32 saddr;
	__be32 daddr;
	__be16 id; /* the IP identification shared by a datagram's fragments */
	__u8 proto;
	__u8 pad;
};

struct kpx_frag_value {
	__be16 sport;
	__be16 dport;
};

/* kpx_counters_v1 value (per CPU), keyed by enum kpx_reason. */
struct kpx_counter {
	__u64 packets;
	__u64 bytes;
};

/* kpx_svc_stats_v1 value (per CPU), keyed by __u32 svc_id: what the datapath did with
 * the traffic of one frontend entry (svc_stats.h says exactly what each field counts).
 * Userspace sums the CPUs and adds a frontend's SCOPE_EXTERNAL and SCOPE_INTERNAL ids. */
struct kpx_svc_stats {
	__u64 packets; /* client -> frontend packets forwarded to a backend (replies not counted) */
	__u64 bytes; /* their length as they arrived */
	__u64 new_conns; /* new flows (packet path) and translated connect/sendmsg (socket hooks) */
	__u64 drops; /* packets to the frontend dropped or rejected; socket calls refused */
};

/* What kpx_map_counts (map_counts.h) writes over the packet it is test-run with: the
 * number of elements of each hash map, or -1 when the kernel cannot count them (the
 * bpf_map_sum_elem_count kfunc is in Linux >= 6.6). Not a map value: userspace reads it
 * from BPF_PROG_TEST_RUN's data_out. */
struct kpx_map_counts {
	__s64 services;
	__s64 backends;
	__s64 ct;
	__s64 affinity;
	__s64 sock_rev;
	__s64 svc_stats;
	__s64 frags;
};

/* kpx_config_v1 value (an array of one, key 0): node-wide settings written by the agent
 * at start and whenever the Node's addresses change. */
struct kpx_config {
	__be32 node_addr; /* this node's address on the external device: the SNAT source */
	__be32 hairpin_addr; /* source given to a pod reaching itself through a Service */
	__u16 snat_port_min; /* SNAT source ports, host order, inclusive; kept out of the */
	__u16 snat_port_max; /* node's ephemeral range and reserved (ip_local_reserved_ports) */
	__u32 ext_ifindex; /* the external device */
	__u64 netns_cookie; /* the node's network namespace: socket hooks act only there */
};

/* kpx_srcrange_v1 key (LPM trie): loadBalancerSourceRanges of an LB frontend (T5).
 * svc_id is stored in network byte order: the trie matches key bytes in order.
 * prefixlen counts the bits after itself: 32 (svc_id) + the CIDR's prefix length. */
struct kpx_srcrange_key {
	__u32 prefixlen;
	__u32 svc_id;
	__be32 addr;
};

/* kpx_sock_rev_v1 key: one UDP socket of the node (its cookie) and an address it was
 * translated between, read by the socket hooks (sock.h).
 *   dir KPX_SOCK_REPLY:   addr/port are the backend; the value is the frontend that
 *                         recvmsg4/getpeername4 show instead.
 *   dir KPX_SOCK_FORWARD: addr/port are the frontend; the value is the backend an
 *                         unconnected socket keeps sending that frontend's datagrams to. */
struct kpx_sock_rev_key {
	__u64 cookie; /* bpf_get_socket_cookie() of the socket */
	__be32 addr;
	__be16 port;
	__u8 dir; /* KPX_SOCK_FORWARD or KPX_SOCK_REPLY */
	__u8 pad;
};

struct kpx_sock_rev_value {
	__be32 addr;
	__be16 port;
	__u16 pad;
	__u32 backend_id; /* the chosen backend */
	__u32 svc_id; /* the entry it was chosen from (EXTERNAL, or INTERNAL for iTP Local) */
};

/* kpx_sock_rev_key.dir */
#define KPX_SOCK_FORWARD 1
#define KPX_SOCK_REPLY   2

#endif /* KPX_ABI_H */
