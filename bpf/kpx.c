// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* kpx datapath: service load balancing at the node's edges.
 *
 * Programs (PROGRAM_NAMES in src/datapath/abi.ts) and where they attach:
 *   kpx_from_pod  tc ingress, host side of every pod veth: everything pods send.
 *   kpx_to_pod    tc egress, host side of every pod veth: reverse NAT of replies that
 *                 reached the node by a path no kpx program translated (no XDP or tc
 *                 program on the external device).
 *   kpx_xdp_ext   XDP on the external device: traffic from outside the node.
 *   kpx_tc_ext    tc ingress on the external device: the same as kpx_xdp_ext, for a
 *                 device without XDP support. Attach one of the two, not both.
 *   kpx_xdp_peer_pass  XDP_PASS, for the far end of a veth that carries kpx_xdp_ext (lab).
 *   kpx_map_counts  never attached: test-run by the agent to count map elements.
 * The node must accept packets whose source is one of its own addresses on the external
 * device and the pod veths (sysctl accept_local=1, rp_filter 0 or 2): a reversed reply of
 * a NodePort flow, and a flow SNATed to node_addr, are handed to the stack that way.
 * One logic serves all of them (ctx.h): kpx_decide() is instantiated per program type
 * and per origin of the traffic.
 *
 * A packet is, in this order:
 *   1. a packet of a tracked flow (FORWARD entry)   -> DNAT (+ SNAT) to the flow's
 *      backend, or, if that backend is gone, to a newly selected one (C2);
 *   2. a reply of a tracked flow (REPLY entry)      -> source restored to the frontend
 *      (and, for a source-translated flow, destination restored to the client);
 *   3. the first packet to a frontend               -> traffic policy (lb.h), then
 *      reject (N1), drop (N2), or select a backend, track, translate;
 *   4. an ICMP error quoting a packet of a tracked flow -> translated as a reply of
 *      that flow would be, quote included (icmp_error.h);
 *   5. anything else                                -> passed untouched.
 * The reply lookup comes before the frontend lookup because replies are far more
 * common than new flows; a tuple cannot be both (its destination would have to be a
 * client and a service address at once).
 *
 * Source translation of new flows:
 *   - from a pod to itself through a Service (hairpin, T4): source -> hairpin_addr, port
 *     kept; the packet goes straight back into the pod, and so do its replies;
 *   - from outside to a backend on another node (T4): source -> node_addr and a free
 *     port (snat.h), so the backend's replies come back here to be reversed;
 *   - from outside to a local backend: none, the client address is kept (T4, kpx may
 *     improve); its replies leave through kpx_from_pod's reverse NAT.
 * Every packet ends in kpx_finish(), which counts it under exactly one reason; a packet
 * whose decision is about a frontend is also counted against that frontend's id
 * (svc_stats.h), which kpx_decide() reports through *svc_id.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "constants.h"
#include "maps.h"
#include "ctx.h"
#include "parse.h"
#include "nat.h"
#include "conntrack.h"
#include "lb.h"
#include "snat.h"
#include "reject.h"
#include "counters.h"
#include "bounce.h"
#include "icmp_error.h"
#include "svc_stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Never called, never loaded: a global function is always emitted with its BTF, so this
 * one puts enum kpx_reason (names and values) into the object's BTF, where
 * test/datapath/abi.test.ts checks it against REASONS and tools can read it. (The
 * counters map cannot carry it: the kernel wants an integer key type for arrays.) */
__attribute__((used)) enum kpx_reason kpx_reason_btf_anchor(enum kpx_reason r)
{
	return r;
}

/* Rewrites p's tuple to t; a pod's packet that now goes back to itself is sent back out
 * of its veth (bounce.h). */
static __always_inline __u32 kpx_send(void *ctx, const int xdp, const enum kpx_origin origin,
				      const struct kpx_pkt *p, const struct kpx_nat *t, __u32 reason)
{
	if (kpx_nat_rewrite(ctx, xdp, p, t))
		return KPX_R_DROP_NAT_FAILED;
	return kpx_bounce_if_own(ctx, xdp, origin, t->daddr, p->saddr, reason);
}

/* 1. A packet of a tracked flow (FORWARD entry ct under key): to the flow's backend,
 * even when it is TERMINATING (C3), from the entry's backend cache when it may be
 * trusted (conntrack.h). Returns 0 when that backend is gone, so the caller reselects
 * (C2). */
static __always_inline __u32 kpx_established(void *ctx, const int xdp, const enum kpx_origin origin,
					     const struct kpx_pkt *p, const struct kpx_ct_key *key,
					     struct kpx_ct_value *ct, __u64 now, __u32 *svc_id)
{
	__u32 gen = kpx_backend_gen();
	struct kpx_nat t = kpx_nat_of(p);
	struct kpx_ct_value v;
	int touched;
	__u16 flags = kpx_ct_close_flags(ct->flags, p->tcp_flags, KPX_CT_FORWARD);

	if (kpx_ct_cache_valid(ct, gen, now)) {
		t.daddr = ct->nat_addr;
		t.dport = ct->nat_port;
		touched = kpx_ct_touch(ct, now, flags);
	} else {
		struct kpx_backend *be = kpx_lb_backend(ct->backend_id, ct->svc_id);

		if (!be)
			return 0;
		t.daddr = be->addr;
		t.dport = be->port;
		if ((ct->flags & KPX_CT_F_BACKEND_CACHED) && ct->nat_addr == t.daddr &&
		    ct->nat_port == t.dport) {
			/* The usual case (a generation bump for some other backend, or the
			 * once-a-second check): the cache still holds, confirm it in place. */
			ct->backend_gen = (__u16)gen;
			kpx_ct_touch(ct, now, flags);
		} else {
			v = *ct;
			kpx_ct_cache_fill(&v, t.daddr, t.dport, gen);
			kpx_ct_touch(&v, now, flags);
			/* Best effort: if the write fails, the next packet looks the backend up
			 * again. An LRU map recycles the replaced element at once: only v is
			 * read after. */
			bpf_map_update_elem(&kpx_ct_v1, key, &v, BPF_EXIST);
			ct = &v;
		}
		touched = 1;
	}
	*svc_id = ct->svc_id;
	if (ct->flags & KPX_CT_F_SNAT) {
		t.saddr = ct->peer_addr;
		t.sport = ct->peer_port;
	}
	if (touched) {
		struct kpx_ct_key rkey = kpx_ct_reply_key_of(p, ct, t.daddr, t.dport);

		kpx_ct_touch_key(&rkey, now, flags);
	}
	return kpx_send(ctx, xdp, origin, p, &t, KPX_R_FWD_ESTABLISHED);
}

/* 2. A reply from a backend: the source becomes the frontend the client talked to, and
 * the destination the client again if its source was translated. */
static __always_inline __u32 kpx_reply(void *ctx, const int xdp, const enum kpx_origin origin,
				       const struct kpx_pkt *p, struct kpx_ct_value *ct, __u64 now)
{
	__u16 flags = kpx_ct_close_flags(ct->flags, p->tcp_flags, KPX_CT_REPLY) | KPX_CT_F_SEEN_REPLY;
	struct kpx_nat t = kpx_nat_of(p);

	t.saddr = ct->nat_addr;
	t.sport = ct->nat_port;
	if (ct->flags & KPX_CT_F_SNAT) {
		t.daddr = ct->peer_addr;
		t.dport = ct->peer_port;
	}
	if (kpx_ct_touch(ct, now, flags)) {
		struct kpx_ct_key fkey = kpx_ct_forward_key(p, ct);

		kpx_ct_touch_key(&fkey, now, flags);
	}
	return kpx_send(ctx, xdp, origin, p, &t, KPX_R_FWD_REPLY);
}

/* 3. A new flow to frontend `ext` (its SCOPE_EXTERNAL slot 0), or a tracked flow whose
 * backend is gone (reselect, C2). *svc_id: the entry the decision is about (ext until
 * the traffic policy picked one). */
static __always_inline __u32 kpx_new_flow(void *ctx, const int xdp, const enum kpx_origin origin,
					  const struct kpx_pkt *p, struct kpx_svc_value *ext,
					  __u64 now, int reselect, __u32 *out_svc_id)
{
	struct kpx_config *cfg = NULL;
	struct kpx_svc_value *svc;
	struct kpx_choice c = {};
	struct kpx_ct_flow f;
	struct kpx_nat t;
	__u32 reason, svc_id;
	/* Read before the backend is chosen: see the backend cache in conntrack.h. */
	__u32 gen = kpx_backend_gen();
	__u8 scope;
	int snat = 0;

	*out_svc_id = ext->svc_id;
	svc = kpx_lb_resolve(p, ext, origin, &scope);
	if (!svc) {
		if (scope == KPX_R_REJECT_TCP)
			reason = kpx_reject_tcp(ctx, xdp, p);
		else if (scope == KPX_R_REJECT_UDP)
			reason = kpx_reject_udp(ctx, xdp, p);
		else
			return scope;
		return kpx_reason_is_drop(reason) ? reason : KPX_TX_OUT(reason);
	}
	svc_id = svc->svc_id;
	*out_svc_id = svc_id;
	reason = kpx_lb_select(p, svc, scope, now, &c);
	if (reason != KPX_R_FWD_NEW_FLOW && reason != KPX_R_FWD_AFFINITY)
		return reason;

	t = kpx_nat_of(p);
	if (origin == KPX_ORIGIN_POD && c.addr == p->saddr) {
		/* Hairpin: the pod must not see its own address as the source. */
		cfg = kpx_config();
		if (!cfg || !cfg->hairpin_addr)
			return KPX_R_DROP_NO_CONFIG;
		snat = 1;
		t.saddr = cfg->hairpin_addr;
		reason = KPX_R_FWD_HAIRPIN;
	} else if (origin == KPX_ORIGIN_EXTERNAL && !c.local) {
		cfg = kpx_config();
		if (!cfg || !cfg->node_addr)
			return KPX_R_DROP_NO_CONFIG;
		snat = 1;
		t.saddr = cfg->node_addr;
		reason = KPX_R_FWD_SNAT;
	}
	if (reselect)
		reason = KPX_R_FWD_RESELECTED;

	kpx_ct_flow_init(&f, p, c.addr, c.port, c.backend_id, svc_id, gen, now, snat, t.saddr, t.sport);
	if (snat && origin == KPX_ORIGIN_EXTERNAL && cfg) {
		__u32 err = kpx_snat_write(&f, cfg, p->proto, now);

		if (err)
			return err;
		t.sport = f.fwd.peer_port;
	} else if (kpx_ct_write(&f)) {
		return KPX_R_DROP_CT_FULL;
	}
	t.daddr = c.addr;
	t.dport = c.port;
	return kpx_send(ctx, xdp, origin, p, &t, reason);
}

/* The decision on one packet (a reason, with KPX_ACT_TX above it to send it back out).
 * *svc_id: the frontend id the decision is about, left 0 for replies and passed packets. */
static __always_inline __u32 kpx_decide(void *ctx, const int xdp, const enum kpx_origin origin,
					__u32 *svc_id)
{
	struct kpx_pkt p;
	struct kpx_ct_key key;
	struct kpx_ct_value *ct;
	struct kpx_svc_value *ext;
	int reselect = 0;
	__u64 now = 0; /* the clock is read only once a map says the packet is ours */
	__u32 reason;

	reason = kpx_parse(ctx, xdp, &p);
	if (reason == KPX_R_PASS_NOT_TCP_UDP)
		return kpx_icmp_error(ctx, xdp, origin);
	if (reason)
		return reason;

	key = kpx_ct_key_of(&p, KPX_CT_FORWARD);
	ct = bpf_map_lookup_elem(&kpx_ct_v1, &key);
	if (ct) {
		now = kpx_now();
		if (!kpx_ct_stale(ct, &p, now)) {
			reason = kpx_established(ctx, xdp, origin, &p, &key, ct, now, svc_id);
			if (reason)
				return reason;
			reselect = 1;
		}
		/* Expired, or a SYN reopening a closed flow: the tuple is reused by a new flow. */
	} else {
		key.dir = KPX_CT_REPLY;
		ct = bpf_map_lookup_elem(&kpx_ct_v1, &key);
		if (ct) {
			now = kpx_now();
			if (!kpx_ct_expired(ct, p.proto, now))
				return kpx_reply(ctx, xdp, origin, &p, ct, now);
		}
	}
	/* A later fragment follows its datagram's first one, which decided; it never starts
	 * a flow or picks another backend (it has no L4 header to answer or to balance). */
	if (p.later_frag)
		return KPX_R_PASS_FRAGMENT;

	ext = kpx_lb_frontend(&p);
	if (!ext)
		/* A tracked flow whose frontend was deleted too (C4) is passed, not dropped:
		 * its packets are no longer ours. */
		return reselect ? KPX_R_PASS_NO_SERVICE : KPX_R_PASS_NO_FLOW;
	if (!now)
		now = kpx_now();
	return kpx_new_flow(ctx, xdp, origin, &p, ext, now, reselect, svc_id);
}

/* kpx_to_pod: only replies (and ICMP errors about flows); everything else reaching a pod is passed after one lookup. */
static __always_inline __u32 kpx_decide_reply(void *ctx, const int xdp)
{
	struct kpx_pkt p;
	struct kpx_ct_key key;
	struct kpx_ct_value *ct;
	__u64 now;
	__u32 reason;

	reason = kpx_parse(ctx, xdp, &p);
	if (reason == KPX_R_PASS_NOT_TCP_UDP)
		return kpx_icmp_error(ctx, xdp, KPX_ORIGIN_EXTERNAL);
	if (reason)
		return reason;
	key = kpx_ct_key_of(&p, KPX_CT_REPLY);
	ct = bpf_map_lookup_elem(&kpx_ct_v1, &key);
	if (!ct)
		return KPX_R_PASS_NO_FLOW;
	now = kpx_now();
	if (kpx_ct_expired(ct, p.proto, now))
		return KPX_R_PASS_NO_FLOW;
	return kpx_reply(ctx, xdp, KPX_ORIGIN_EXTERNAL, &p, ct, now);
}

SEC("tc")
int kpx_from_pod(struct __sk_buff *skb)
{
	__u32 len = skb->len, svc_id = 0;
	__u32 out = kpx_decide(skb, KPX_TC, KPX_ORIGIN_POD, &svc_id);

	kpx_svc_count(svc_id, out & 0xff, len);
	return kpx_finish(skb, KPX_TC, out, len);
}

SEC("tc")
int kpx_to_pod(struct __sk_buff *skb)
{
	__u32 len = skb->len;

	return kpx_finish(skb, KPX_TC, kpx_decide_reply(skb, KPX_TC), len);
}

SEC("tc")
int kpx_tc_ext(struct __sk_buff *skb)
{
	__u32 len = skb->len, svc_id = 0;
	__u32 out = kpx_decide(skb, KPX_TC, KPX_ORIGIN_EXTERNAL, &svc_id);

	kpx_svc_count(svc_id, out & 0xff, len);
	return kpx_finish(skb, KPX_TC, out, len);
}

SEC("xdp")
int kpx_xdp_ext(struct xdp_md *ctx)
{
	__u32 len = kpx_len(ctx, KPX_XDP), svc_id = 0;
	__u32 out = kpx_decide(ctx, KPX_XDP, KPX_ORIGIN_EXTERNAL, &svc_id);

	kpx_svc_count(svc_id, out & 0xff, len);
	return kpx_finish(ctx, KPX_XDP, out, len);
}

/* Not a datapath program: XDP_TX on a veth delivers only to a peer that runs an XDP
 * program itself (its NAPI ring is set up then), so a lab whose external device is a
 * veth attaches this to the peer's end for kpx_xdp_ext's rejects to arrive. */
SEC("xdp")
int kpx_xdp_peer_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* The node's own traffic: cgroup socket hooks (connect4, sendmsg4, recvmsg4,
 * getpeername4), built on lb.h's contract. */
#if __has_include("sock.h")
#include "sock.h"
#endif

/* Not a datapath program: element counts of the maps, for metrics (map_counts.h). */
#include "map_counts.h"
