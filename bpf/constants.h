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
#ifndef KPX_AFFINITY_MAX
#define KPX_AFFINITY_MAX 65536 /* LRU: one entry per (client address, frontend) */
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
#ifndef KPX_CT_TIMEOUT_TCP_CLOSING_S
#define KPX_CT_TIMEOUT_TCP_CLOSING_S 10 /* after FIN or RST was seen */
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

/* kpx_svc_key.scope */
#define KPX_SCOPE_EXTERNAL 0 /* every frontend has this entry */
#define KPX_SCOPE_INTERNAL 1 /* reserved: node-local backend set for traffic policies */

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

/* kpx_backend.state */
#define KPX_BACKEND_ACTIVE      1 /* may take new flows */
#define KPX_BACKEND_TERMINATING 2 /* keeps existing flows only (C3) */

/* kpx_ct_key.dir */
#define KPX_CT_FORWARD 1 /* client -> frontend, as the client sent it */
#define KPX_CT_REPLY   2 /* backend -> client, as the backend sends it */

/* kpx_ct_value.flags */
#define KPX_CT_F_SEEN_REPLY (1 << 0)
#define KPX_CT_F_CLOSING    (1 << 1) /* FIN or RST seen in either direction */
#define KPX_CT_F_SNAT       (1 << 2) /* source translated too: see peer_addr in abi.h */

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
	KPX_R_MAX = 32,
};

#endif /* KPX_CONSTANTS_H */
