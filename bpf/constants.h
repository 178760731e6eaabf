/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Every size, limit and flag of the kpx datapath. Each size can be overridden at
 * build time with -D; the userspace mirror (src/datapath/abi.ts) reads the sizes it
 * needs from the loaded maps, not from here, so an override cannot drift silently.
 */
#ifndef KPX_CONSTANTS_H
#define KPX_CONSTANTS_H

/* Map capacities, in entries. */
#ifndef KPX_SERVICES_MAX
#define KPX_SERVICES_MAX 262144 /* frontend slots + backend slots, all services */
#endif
#ifndef KPX_BACKENDS_MAX
#define KPX_BACKENDS_MAX 262144 /* backend ids are per frontend (see abi.h) */
#endif
#ifndef KPX_CT_MAX
#define KPX_CT_MAX 262144 /* LRU: two entries per tracked flow (forward + reply) */
#endif
#ifndef KPX_FRAGS_MAX
#define KPX_FRAGS_MAX 8192 /* LRU: one entry per fragmented datagram in flight */
#endif
#ifndef KPX_AFFINITY_MAX
#define KPX_AFFINITY_MAX 65536 /* LRU: one entry per (client address, frontend) */
#endif
#ifndef KPX_SRCRANGE_MAX
#define KPX_SRCRANGE_MAX 16384 /* loadBalancerSourceRanges CIDRs, all LB frontends */
#endif
/* Per-frontend statistics (svc_stats.h), per CPU, 32 bytes per entry and CPU, both
 * preallocated: 16384 entries take 512 KiB per possible CPU in each map. */
#ifndef KPX_SVC_STATS_DENSE_MAX
#define KPX_SVC_STATS_DENSE_MAX 16384 /* array slots: frontend ids below this */
#endif
#ifndef KPX_SVC_STATS_MAX
/* LRU: frontend ids at or above KPX_SVC_STATS_DENSE_MAX that saw traffic. When more of
 * them do, the least recently used lose their counts (a counter reset to Prometheus). */
#define KPX_SVC_STATS_MAX 16384
#endif

/* Upper bound on backend slots of one frontend; the control plane refuses more. */
#ifndef KPX_MAX_BACKENDS_PER_SVC
#define KPX_MAX_BACKENDS_PER_SVC 65535
#endif

/* Connection-tracking idle timeouts, in seconds. An entry idle for longer is treated
 * as absent, so a reused 4-tuple picks a fresh backend. */
#ifndef KPX_CT_TIMEOUT_TCP_S
#define KPX_CT_TIMEOUT_TCP_S 21600 /* established TCP: 6 h, kube-proxy's nf_conntrack default is 24 h but LRU bounds us */
#endif
/* TCP after close, by how it closed (kpx_ct_close_timeout_s() in conntrack.h). The
 * timeout of a flow's REPLY entry is how long its SNAT tuple stays taken (snat.h). */
#ifndef KPX_CT_TIMEOUT_TCP_CLOSING_S
#define KPX_CT_TIMEOUT_TCP_CLOSING_S 10 /* half closed by the client: the backend may still send */
#endif
/* The client closed first and its final ACK went by: the backend's passive close ends in
 * CLOSED, no TIME_WAIT, nothing holds the tuple. The grace lets a FIN the backend resends
 * when that final ACK was lost (its RTO: 200 ms, then 400 ms) still be translated. */
#ifndef KPX_CT_TIMEOUT_TCP_CLOSED_S
#define KPX_CT_TIMEOUT_TCP_CLOSED_S 1
#endif
/* After an RST neither side holds the tuple, but a client whose SYN was refused by the
 * backend's TIME_WAIT (PAWS: an ACK comes back, the client resets it) resends the SYN on
 * the same tuple 1 s later, then 3 s later, and must find it still translated the same
 * way: the TIME_WAIT its RST ended is what lets that SYN through. */
#ifndef KPX_CT_TIMEOUT_TCP_RST_S
#define KPX_CT_TIMEOUT_TCP_RST_S 3
#endif
/* The backend closed first: its socket sits in TIME_WAIT for Linux's fixed
 * TCP_TIMEWAIT_LEN (60 s). A SYN reusing the tuple meanwhile is accepted only if its
 * timestamp (or sequence number) is newer than the old connection's; one from another
 * client is not, half the time, and waits a second for its SYN to be resent. */
#ifndef KPX_CT_TIMEOUT_TCP_TIME_WAIT_S
#define KPX_CT_TIMEOUT_TCP_TIME_WAIT_S 60
#endif
/* When no SNAT port of the probed ones is free or expired, a closed flow's tuple is
 * taken before the new flow is dropped (a dropped SYN waits a second for sure): one
 * closed by the client at once, one in the backend's TIME_WAIT after this long idle
 * (kpx's hold before close tracking; a SYN on it is refused about half the time, PAWS).
 * nf_nat likewise evicts closing entries in its last attempts. */
#ifndef KPX_CT_RECLAIM_TIME_WAIT_S
#define KPX_CT_RECLAIM_TIME_WAIT_S 10
#endif
#ifndef KPX_CT_TIMEOUT_UDP_S
#define KPX_CT_TIMEOUT_UDP_S 120 /* matches nf_conntrack_udp_timeout_stream */
#endif

#define KPX_NSEC_PER_SEC 1000000000ULL

/* A conntrack entry's last_seen_ns is rewritten at most this often (in ns) by packets of
 * an established flow, so that a busy flow does not bounce its cache line between CPUs
 * on every packet. Idle timeouts are therefore exact to within this interval. */
#ifndef KPX_CT_REFRESH_NS
#define KPX_CT_REFRESH_NS 1000000000ULL
#endif

/* New-flow selection: when the random slot names a backend that may not take new flows
 * (TERMINATING, C3), the following slots are tried, at most this many in all. */
#ifndef KPX_SELECT_PROBES
#define KPX_SELECT_PROBES 8
#endif

/* SNAT of external flows to remote backends: ports of [snat_port_min, snat_port_max] are
 * probed in turn from where the last search ended, at most this many, before the flow
 * takes a closed flow's tuple or is dropped (DROP_SNAT_PORTS_EXHAUSTED). Each probe is
 * one conntrack insert. */
#ifndef KPX_SNAT_PROBES
#define KPX_SNAT_PROBES 16
#endif

/* TTL of the packets the datapath generates itself (TCP RST, ICMP unreachable). */
#ifndef KPX_REJECT_TTL
#define KPX_REJECT_TTL 64
#endif

/* Bytes of headers the parser wants in the linear part of the skb: Ethernet, the longest
 * IPv4 header (60 bytes with options) and a TCP header without options. */
#define KPX_PARSE_PULL_LEN (14 + 60 + 20)

/* Ethernet / IPv4 constants not always available without kernel headers. */
#define KPX_ETH_P_IP 0x0800
#define KPX_ETH_HLEN 14
#define KPX_IP_MF 0x2000
#define KPX_IP_OFFSET 0x1fff
#define KPX_IPPROTO_TCP 6 /* <linux/in.h> is not among the headers kpx builds with */
#define KPX_IPPROTO_UDP 17
#define KPX_IPPROTO_ICMP 1
#define KPX_ICMP_DEST_UNREACH 3
#define KPX_ICMP_PORT_UNREACH 3

/* kpx_svc_key.scope */
#define KPX_SCOPE_EXTERNAL 0 /* every frontend has this entry */
#define KPX_SCOPE_INTERNAL 1 /* this node's backends, for ETP_LOCAL / ITP_LOCAL (see lb.h) */

/* kpx_svc_value.flags (slot 0 only) */
#define KPX_SVC_F_CLUSTER_IP   (1 << 0)
#define KPX_SVC_F_NODE_PORT    (1 << 1)
#define KPX_SVC_F_EXTERNAL_IP  (1 << 2)
#define KPX_SVC_F_LOAD_BALANCER (1 << 3)
#define KPX_SVC_F_AFFINITY     (1 << 4) /* sessionAffinity ClientIP; timeout in affinity_timeout_s */
#define KPX_SVC_F_ETP_LOCAL    (1 << 5)
#define KPX_SVC_F_ITP_LOCAL    (1 << 6)
#define KPX_SVC_F_HOST_PORT    (1 << 7) /* a pod's hostPort on a node address */
#define KPX_SVC_F_SOURCE_RANGES (1 << 8) /* LB frontend: sources must match kpx_srcrange_v1 */

/* kpx_backend.state: the low 7 bits are the state, bit 7 a flag. */
#define KPX_BACKEND_ACTIVE      1 /* may take new flows */
#define KPX_BACKEND_TERMINATING 2 /* keeps existing flows only (C3) */
#define KPX_BACKEND_STATE_MASK  0x7f
/* The backend runs on this node (its pod's veth is here). Set by the control plane on
 * backends of every entry; backends of a SCOPE_INTERNAL entry are local whether or not
 * it is set. External flows to a local backend keep the client address (T4, kpx
 * improves); to a remote one they are SNATed to kpx_config.node_addr. */
#define KPX_BACKEND_F_LOCAL     0x80

/* kpx_ct_key.dir */
#define KPX_CT_FORWARD 1 /* client -> frontend, as the client sent it */
#define KPX_CT_REPLY   2 /* backend -> client, as the backend sends it */

/* kpx_ct_value.flags. Both entries of a flow carry the same flags (BACKEND_CACHED aside:
 * FORWARD only). FIN_*, BACKEND_FIRST,
 * CLOSED and RST say how a TCP flow closed; its timeout follows from them (conntrack.h). */
#define KPX_CT_F_SEEN_REPLY (1 << 0)
#define KPX_CT_F_CLOSING    (1 << 1) /* FIN or RST seen in either direction */
#define KPX_CT_F_SNAT       (1 << 2) /* source translated too: see peer_addr in abi.h */
#define KPX_CT_F_FIN_CLIENT (1 << 3) /* the client sent a FIN */
#define KPX_CT_F_FIN_BACKEND (1 << 4) /* the backend sent a FIN */
#define KPX_CT_F_BACKEND_FIRST (1 << 5) /* the backend's FIN came first: it holds TIME_WAIT */
#define KPX_CT_F_CLOSED     (1 << 6) /* the client closed first and ACKed the backend's FIN */
#define KPX_CT_F_RST        (1 << 7) /* RST seen in either direction */
/* FORWARD only: nat_addr/nat_port cache the backend (conntrack.h). Set only when an
 * entry is written whole, never by an in-place update. */
#define KPX_CT_F_BACKEND_CACHED (1 << 15)

/* TCP header flags, as in the header's 14th byte (struct kpx_pkt.tcp_flags). */
#define KPX_TCP_FIN 0x01
#define KPX_TCP_SYN 0x02
#define KPX_TCP_RST 0x04
#define KPX_TCP_ACK 0x10

/* Why a packet was passed, forwarded or dropped: the index of kpx_counters_v1.
 * Id 0 is reserved as invalid, as in every kpx id space. Keep in step with
 * REASONS in src/datapath/abi.ts (a test checks the names against BTF). */
enum kpx_reason {
	KPX_R_INVALID = 0,
	KPX_R_PASS_NOT_IPV4 = 1,
	KPX_R_PASS_NOT_TCP_UDP = 2,
	KPX_R_PASS_FRAGMENT = 3,
	KPX_R_PASS_NO_SERVICE = 4,
	KPX_R_PASS_NO_FLOW = 5, /* not a service frontend and not a tracked reply */
	KPX_R_FWD_NEW_FLOW = 6,
	KPX_R_FWD_ESTABLISHED = 7,
	KPX_R_FWD_RESELECTED = 8, /* tracked backend is gone; moved to a live one (C2) */
	KPX_R_FWD_AFFINITY = 9,
	KPX_R_FWD_REPLY = 10, /* reverse NAT applied */
	KPX_R_DROP_MALFORMED = 11,
	KPX_R_DROP_NO_BACKEND = 12, /* frontend has no usable backend */
	KPX_R_DROP_INVALID_BACKEND = 13, /* slot names id 0 or an unknown backend */
	KPX_R_DROP_CT_FULL = 14,
	KPX_R_DROP_NAT_FAILED = 15,
	KPX_R_REJECT_TCP = 16, /* no usable endpoint anywhere: TCP RST sent back (N1) */
	KPX_R_REJECT_UDP = 17, /* no usable endpoint anywhere: ICMP port unreachable (N1) */
	KPX_R_DROP_NO_LOCAL_BACKEND = 18, /* eTP/iTP Local with no endpoint on this node (T1, T3, N2) */
	KPX_R_DROP_SOURCE_RANGE = 19, /* LB source not in loadBalancerSourceRanges (T5, N2) */
	KPX_R_DROP_SNAT_PORTS_EXHAUSTED = 20, /* no free SNAT port in KPX_SNAT_PROBES tries */
	KPX_R_FWD_SNAT = 21, /* new external flow to a remote backend: DNAT + SNAT to node_addr */
	KPX_R_FWD_HAIRPIN = 22, /* new flow of a pod to itself: DNAT + SNAT to hairpin_addr */
	KPX_R_DROP_REJECT_FAILED = 23, /* the reject packet could not be built (helper failed) */
	KPX_R_DROP_REJECT_NOT_SENT = 24, /* no reject for this packet (an RST): dropped */
	KPX_R_DROP_NO_CONFIG = 25, /* SNAT or hairpin needed but kpx_config_v1 is unset */
	/* Socket hooks of node-originated traffic (sock.h): counted per event, bytes 0. */
	KPX_R_SOCK_TRANSLATED = 26, /* connect/sendmsg to a frontend: sent to a newly picked backend */
	KPX_R_SOCK_AFFINITY = 27, /* ... to the node's ClientIP-affinity backend (A1) */
	KPX_R_SOCK_ESTABLISHED = 28, /* unconnected UDP socket: kept its backend (C1) */
	KPX_R_SOCK_REFUSED = 29, /* no usable endpoint anywhere: ECONNREFUSED (N1) */
	KPX_R_SOCK_UNREACHABLE = 30, /* none may take it (iTP Local, source ranges): EHOSTUNREACH (N2) */
	KPX_R_SOCK_REV_RESTORED = 31, /* recvmsg/getpeername: backend shown as the frontend */
	KPX_R_FWD_ICMP_ERROR = 32, /* an ICMP error about a tracked flow, translated to its other end */
	KPX_R_MAX = 64, /* capacity of kpx_counters_v1; room to add reasons without a new map */
};

#endif /* KPX_CONSTANTS_H */
