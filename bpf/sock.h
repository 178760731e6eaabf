/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Node-originated traffic: processes in the node's own network namespace (hostNetwork
 * pods included) reaching frontends, translated at the socket by cgroup hooks.
 *
 * Their packets never cross a pod veth, so kpx_from_pod never sees them; translating at
 * connect() instead means once per connection, before routing, so the kernel picks the
 * route and source address for the backend itself (docs/node-originated.md).
 *   connect4      connect() of a TCP or UDP socket to a frontend: the destination
 *                 becomes a backend.
 *   sendmsg4      sendto()/sendmsg() with a destination, on an unconnected UDP socket:
 *                 the same per datagram, but a socket keeps its backend (C1) while that
 *                 backend exists (C2).
 *   recvmsg4      a UDP datagram from that backend: its source becomes the frontend the
 *                 socket sent to, so the application sees the address it talked to.
 *   getpeername4  the peer of a connected UDP socket shows the frontend, likewise.
 * The hooks sit on a cgroup shared by every network namespace (pods, and in the lab a
 * second node agent), so each program first checks that the socket lives in this node's
 * namespace (kpx_config_v1.netns_cookie; 0 = hooks disabled) and leaves others alone.
 *
 * Counters: every translation or refusal is counted under one KPX_R_SOCK_* reason (a
 * slot naming a missing backend, a control-plane bug, under DROP_INVALID_BACKEND like
 * the packet path), recvmsg4/getpeername4 when they restore an address. Sockets that
 * are not the node's, and destinations that are not frontends, are passed uncounted:
 * that is most connect() calls of the machine, and none of them is kpx's business. A
 * socket event carries no packet: `packets` counts events and `bytes` stays 0. The same
 * decisions are counted per frontend (svc_stats.h): translations as new_conns, refusals
 * as drops.
 */
#ifndef KPX_SOCK_H
#define KPX_SOCK_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "constants.h"
#include "maps.h"
#include "conntrack.h"
#include "lb.h"
#include "svc_stats.h"

/* Return values of cgroup sock_addr programs. */
#define KPX_SOCK_ALLOW 1
#define KPX_SOCK_DENY 0 /* the syscall fails with the errno set by bpf_set_retval */

/* errno values for bpf_set_retval (no <errno.h> in the BPF build). */
#define KPX_ECONNREFUSED 111
#define KPX_EHOSTUNREACH 113

/* This node's config when the socket behind ctx lives in the node's namespace, else NULL. */
static __always_inline struct kpx_config *kpx_sock_node(void *ctx)
{
	__u32 zero = 0;
	struct kpx_config *cfg = bpf_map_lookup_elem(&kpx_config_v1, &zero);

	if (!cfg || cfg->netns_cookie == 0 || cfg->netns_cookie != bpf_get_netns_cookie(ctx))
		return NULL;
	return cfg;
}

static __always_inline void kpx_sock_count(__u32 reason)
{
	struct kpx_counter *c = bpf_map_lookup_elem(&kpx_counters_v1, &reason);

	/* Per-CPU slot: no other CPU writes it. */
	if (c)
		c->packets += 1;
}

/* Fails the syscall with -err (connect4/sendmsg4 only: the other hooks may not deny),
 * counted under `reason` and against frontend entry svc_id. */
static __always_inline int kpx_sock_refuse(int err, __u32 reason, __u32 svc_id)
{
	bpf_set_retval(-err);
	kpx_sock_count(reason);
	kpx_svc_count(svc_id, reason, 0);
	return KPX_SOCK_DENY;
}

/* Remembers a UDP socket's translation: REPLY for recvmsg4/getpeername4, and with
 * `forward` (unconnected sockets) FORWARD so its next datagrams keep the backend.
 * The map is a preallocated LRU: a write evicts the oldest entry rather than fail. */
static __always_inline void kpx_sock_remember(__u64 cookie, const struct kpx_pkt *p,
					     const struct kpx_choice *c, __u32 svc_id, int forward)
{
	struct kpx_sock_rev_key key = {
		.cookie = cookie,
		.addr = c->addr,
		.port = c->port,
		.dir = KPX_SOCK_REPLY,
	};
	struct kpx_sock_rev_value val = {
		.addr = p->daddr,
		.port = p->dport,
		.backend_id = c->backend_id,
		.svc_id = svc_id,
	};

	bpf_map_update_elem(&kpx_sock_rev_v1, &key, &val, BPF_ANY);
	if (!forward)
		return;
	key.addr = p->daddr;
	key.port = p->dport;
	key.dir = KPX_SOCK_FORWARD;
	val.addr = c->addr;
	val.port = c->port;
	bpf_map_update_elem(&kpx_sock_rev_v1, &key, &val, BPF_ANY);
}

/* sendmsg4: the backend this socket already sends this frontend's datagrams to, if it
 * still exists (TERMINATING included, C3). Returns 1 with *c filled. */
static __always_inline int kpx_sock_established(__u64 cookie, const struct kpx_pkt *p,
						struct kpx_choice *c)
{
	struct kpx_sock_rev_key key = {
		.cookie = cookie,
		.addr = p->daddr,
		.port = p->dport,
		.dir = KPX_SOCK_FORWARD,
	};
	struct kpx_sock_rev_value *fwd = bpf_map_lookup_elem(&kpx_sock_rev_v1, &key);
	struct kpx_backend *be;

	if (!fwd)
		return 0;
	be = kpx_lb_backend(fwd->backend_id, fwd->svc_id);
	if (!be)
		return 0; /* gone: pick again (C2) */
	kpx_lb_fill(c, fwd->backend_id, be);
	return 1;
}

/* connect4 and sendmsg4: translate a destination that is a frontend to a backend. */
static __always_inline int kpx_sock_translate(struct bpf_sock_addr *ctx, int sendmsg)
{
	struct kpx_config *cfg = kpx_sock_node(ctx);
	struct kpx_svc_value *ext, *svc;
	struct kpx_choice c = {};
	struct kpx_pkt p = {};
	__u64 cookie = 0;
	__u32 reason, svc_id;
	__u8 scope;

	if (!cfg)
		return KPX_SOCK_ALLOW; /* not this node's socket */
	p.proto = ctx->protocol;
	if (p.proto != KPX_IPPROTO_TCP && p.proto != KPX_IPPROTO_UDP)
		return KPX_SOCK_ALLOW;
	p.daddr = ctx->user_ip4;
	p.dport = (__be16)ctx->user_port;
	/* The node as a client: ClientIP affinity (A1) and source ranges (T5) see the node's
	 * address, the one its traffic would carry toward a remote backend. */
	p.saddr = cfg->node_addr;

	ext = kpx_lb_frontend(&p);
	if (!ext)
		return KPX_SOCK_ALLOW;
	svc_id = ext->svc_id;

	if (p.proto == KPX_IPPROTO_UDP)
		cookie = bpf_get_socket_cookie(ctx);
	if (sendmsg && kpx_sock_established(cookie, &p, &c)) {
		reason = KPX_R_SOCK_ESTABLISHED;
		goto rewrite;
	}

	/* Traffic policies as for any traffic from the node itself: iTP Local applies (T3),
	 * eTP Local does not (T2: the node is served by all endpoints). Where the packet
	 * path would reject (N1), connect()/sendmsg() fail with ECONNREFUSED, what a client
	 * gets from a TCP RST or an ICMP port unreachable. Where it would drop (N2: no local
	 * endpoint, source ranges) a socket cannot be left waiting for a timeout; the call
	 * fails at once with EHOSTUNREACH instead. */
	svc = kpx_lb_resolve(&p, ext, KPX_ORIGIN_HOST, &scope);
	if (!svc) {
		if (scope == KPX_R_REJECT_TCP || scope == KPX_R_REJECT_UDP)
			return kpx_sock_refuse(KPX_ECONNREFUSED, KPX_R_SOCK_REFUSED, svc_id);
		return kpx_sock_refuse(KPX_EHOSTUNREACH, KPX_R_SOCK_UNREACHABLE, svc_id);
	}
	svc_id = svc->svc_id;
	reason = kpx_lb_select(&p, svc, scope, kpx_now(), &c);
	switch (reason) {
	case KPX_R_FWD_NEW_FLOW:
		reason = KPX_R_SOCK_TRANSLATED;
		break;
	case KPX_R_FWD_AFFINITY:
		reason = KPX_R_SOCK_AFFINITY;
		break;
	case KPX_R_DROP_NO_BACKEND: /* every probed slot is TERMINATING */
		return kpx_sock_refuse(KPX_ECONNREFUSED, KPX_R_SOCK_REFUSED, svc_id);
	default: /* DROP_INVALID_BACKEND: a control-plane bug, counted as on the packet path */
		return kpx_sock_refuse(KPX_EHOSTUNREACH, reason, svc_id);
	}
	if (p.proto == KPX_IPPROTO_UDP)
		kpx_sock_remember(cookie, &p, &c, svc->svc_id, sendmsg);

	/* SOCK_ESTABLISHED jumps past this: a datagram of a socket that keeps its backend
	 * is no new connection, and its length is unknown here. */
	kpx_svc_count(svc_id, reason, 0);
rewrite:
	ctx->user_ip4 = c.addr;
	ctx->user_port = c.port;
	kpx_sock_count(reason);
	return KPX_SOCK_ALLOW;
}

/* recvmsg4 and getpeername4: a backend address this socket was translated to reads as
 * the frontend again. */
static __always_inline void kpx_sock_restore(struct bpf_sock_addr *ctx)
{
	struct kpx_sock_rev_key key = {
		.addr = ctx->user_ip4,
		.port = (__be16)ctx->user_port,
		.dir = KPX_SOCK_REPLY,
	};
	struct kpx_sock_rev_value *rev;

	if (!kpx_sock_node(ctx))
		return;
	key.cookie = bpf_get_socket_cookie(ctx);
	rev = bpf_map_lookup_elem(&kpx_sock_rev_v1, &key);
	if (!rev)
		return;
	ctx->user_ip4 = rev->addr;
	ctx->user_port = rev->port;
	kpx_sock_count(KPX_R_SOCK_REV_RESTORED);
}

SEC("cgroup/connect4")
int kpx_sock_connect4(struct bpf_sock_addr *ctx)
{
	return kpx_sock_translate(ctx, 0);
}

SEC("cgroup/sendmsg4")
int kpx_sock_sendmsg4(struct bpf_sock_addr *ctx)
{
	return kpx_sock_translate(ctx, 1);
}

/* recvmsg4 and getpeername4 must return 1: they may rewrite, never deny. */
SEC("cgroup/recvmsg4")
int kpx_sock_recvmsg4(struct bpf_sock_addr *ctx)
{
	kpx_sock_restore(ctx);
	return KPX_SOCK_ALLOW;
}

SEC("cgroup/getpeername4")
int kpx_sock_getpeername4(struct bpf_sock_addr *ctx)
{
	kpx_sock_restore(ctx);
	return KPX_SOCK_ALLOW;
}

#endif /* KPX_SOCK_H */
