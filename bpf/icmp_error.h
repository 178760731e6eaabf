/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* ICMP errors about translated flows, translated back.
 *
 * A backend that has nothing on a UDP port answers "port unreachable"; a router on the
 * way to a remote backend, or back to an external client, answers "fragmentation needed"
 * (path MTU discovery) or "time exceeded". Each error quotes the packet it is about, and that packet is the one kpx
 * translated. A kernel matches an error to a socket by the quoted packet, so without
 * translation the socket never learns: a UDP client waits for its timeout instead of
 * getting ECONNREFUSED, and a TCP flow through a smaller MTU stalls. kube-proxy gets this
 * from netfilter conntrack (an error is RELATED to the flow it quotes and NATed with it);
 * this is the same for kpx's flows.
 *
 * The quote is one of two packets of a flow, and the error goes to the other end:
 *   - a packet the node sent towards a backend (client, or node_addr:snat_port ->
 *     backend): the answer to it carries the flow's REPLY key, so the quote's tuple
 *     reversed finds that entry. Quote: destination -> the frontend the client sent to,
 *     source -> the client again for a flow with a translated source (SNAT). Outer:
 *     destination -> the client for a SNAT flow; source -> the frontend when the backend
 *     itself sent the error (a router's address is left as it is: it is where the error
 *     came from, and the client's kernel matches by the quote);
 *   - a reply the node sent back to a client (frontend -> client): the client's packets
 *     carry the flow's FORWARD key. Quote: source -> the backend, destination -> the
 *     translated source for a SNAT flow. Outer: destination -> the backend (path MTU
 *     discovery of a backend's answers through a NodePort); source -> the translated
 *     source when the client itself sent it.
 * Checksums: the quote's IP header, the quoted UDP checksum (and the TCP one when the
 * quote reaches it), the ICMP checksum (which covers the quote, no pseudo-header) and
 * the outer IP header, each updated incrementally. Every changed word moves the ICMP
 * sum by exactly what its field update compensates, so a CHECKSUM_COMPLETE skb's csum
 * stays right without a helper.
 * The entry is not touched: an error does not keep a flow alive. Only type 3
 * (destination unreachable) and 11 (time exceeded) are translated, quoting an IPv4
 * header without options and at least 8 bytes of a TCP or UDP header; anything else is
 * passed as before (PASS_NOT_TCP_UDP).
 */
#ifndef KPX_ICMP_ERROR_H
#define KPX_ICMP_ERROR_H

#include <linux/bpf.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "constants.h"
#include "csum.h"
#include "ctx.h"
#include "bounce.h"
#include "conntrack.h"
#include "lb.h"
#include "parse.h"

#define KPX_ICMP_TIME_EXCEEDED 11
#define KPX_ICMP_HLEN 8
/* Offset of the TCP checksum in its header: the quote may or may not reach it. */
#define KPX_TCP_CHECK_OFF 16
/* Ethernet, the longest outer IPv4 header, the ICMP header, the quoted IPv4 header
 * (options not handled) and its L4 header up to the TCP checksum. */
#define KPX_ICMP_ERROR_PULL_LEN (14 + 60 + KPX_ICMP_HLEN + 20 + KPX_TCP_CHECK_OFF + 2)

/* What an error becomes: the quoted tuple and the outer addresses it is rewritten to. */
struct kpx_icmp_xlat {
	__be32 saddr; /* quote */
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__be32 out_saddr;
	__be32 out_daddr;
};

/* The live entry a quote's tuple reversed names, in direction `dir`. */
static __always_inline struct kpx_ct_value *kpx_icmp_quote_entry(const struct iphdr *in, const __be16 *ports,
								 __u8 dir, __u64 now)
{
	struct kpx_ct_key key = {
		.saddr = in->daddr,
		.daddr = in->saddr,
		.sport = ports[1],
		.dport = ports[0],
		.proto = in->protocol,
		.dir = dir,
	};
	struct kpx_ct_value *ct = bpf_map_lookup_elem(&kpx_ct_v1, &key);

	return ct && !kpx_ct_expired(ct, in->protocol, now) ? ct : NULL;
}

/* The quote is a packet the node sent towards a backend (client side -> backend): the
 * answer to it would carry the flow's REPLY key. It becomes what the client sent, and the
 * error goes to the client as a reply would, from the frontend if the backend sent it. */
static __always_inline int kpx_icmp_xlat_forward(const struct iphdr *ip, const struct iphdr *in,
						 const __be16 *ports, __u64 now, struct kpx_icmp_xlat *x)
{
	struct kpx_ct_value *ct = kpx_icmp_quote_entry(in, ports, KPX_CT_REPLY, now);

	if (!ct)
		return 0;
	x->saddr = in->saddr;
	x->sport = ports[0];
	x->daddr = ct->nat_addr;
	x->dport = ct->nat_port;
	x->out_saddr = ip->saddr == in->daddr ? ct->nat_addr : ip->saddr;
	x->out_daddr = ip->daddr;
	if (ct->flags & KPX_CT_F_SNAT) {
		x->saddr = ct->peer_addr;
		x->sport = ct->peer_port;
		x->out_daddr = ct->peer_addr;
	}
	return 1;
}

/* The quote is a reply the node sent back to a client (frontend -> client): the client's
 * packets carry the flow's FORWARD key. It becomes what the backend sent, and the error
 * goes to the backend (path MTU discovery of its answers: a router between the node and
 * the client, or the client itself). A backend that is gone gets nothing. */
static __always_inline int kpx_icmp_xlat_reply(const struct iphdr *ip, const struct iphdr *in,
					       const __be16 *ports, __u64 now, struct kpx_icmp_xlat *x)
{
	struct kpx_ct_value *ct = kpx_icmp_quote_entry(in, ports, KPX_CT_FORWARD, now);
	struct kpx_backend *be;

	if (!ct)
		return 0;
	be = kpx_lb_backend(ct->backend_id, ct->svc_id);
	if (!be)
		return 0;
	x->saddr = be->addr;
	x->sport = be->port;
	x->daddr = in->daddr;
	x->dport = ports[1];
	x->out_saddr = ip->saddr;
	x->out_daddr = be->addr;
	if (ct->flags & KPX_CT_F_SNAT) {
		x->daddr = ct->peer_addr;
		x->dport = ct->peer_port;
		if (ip->saddr == in->daddr)
			x->out_saddr = ct->peer_addr; /* the client itself: as its packets leave */
	}
	return 1;
}

/* Returns FWD_ICMP_ERROR for a translated error, PASS_NOT_TCP_UDP for any other non-
 * TCP/UDP packet (what kpx_parse() said of it). `origin` as for kpx_send(): an error
 * for a pod that came from a pod of this node through its own veth goes back out of it. */
static __always_inline __u32 kpx_icmp_error(void *ctx, const int xdp, const enum kpx_origin origin)
{
	void *data, *data_end;
	struct iphdr *ip, *in;
	__u8 *icmp;
	__be16 *ports, *tcp_check = NULL;
	struct kpx_icmp_xlat x;
	__be32 orig_saddr;
	__u32 ip_len, quote_len, in_diff, port_diff, icmp_diff, out_diff;
	__u16 in_check, l4_check, new_check;
	__u64 now;

	kpx_pull(ctx, xdp, KPX_ICMP_ERROR_PULL_LEN);
	data = kpx_data(ctx, xdp);
	data_end = kpx_data_end(ctx, xdp);
	ip = data + KPX_L3_OFF;
	if ((void *)(ip + 1) > data_end || ip->protocol != KPX_IPPROTO_ICMP)
		return KPX_R_PASS_NOT_TCP_UDP;
	/* kpx_parse() checked version, ihl >= 5 and tot_len, not fragments. */
	if (ip->frag_off & bpf_htons(KPX_IP_MF | KPX_IP_OFFSET))
		return KPX_R_PASS_NOT_TCP_UDP;
	ip_len = (ip->ihl * 4) & 0x3c;
	icmp = (void *)ip + ip_len;
	in = (void *)(icmp + KPX_ICMP_HLEN);
	ports = (void *)(in + 1);
	if ((void *)(ports + 4) > data_end)
		return KPX_R_PASS_NOT_TCP_UDP;
	if (icmp[0] != KPX_ICMP_DEST_UNREACH && icmp[0] != KPX_ICMP_TIME_EXCEEDED)
		return KPX_R_PASS_NOT_TCP_UDP;
	if (in->version != 4 || in->ihl != 5 || (in->frag_off & bpf_htons(KPX_IP_OFFSET)))
		return KPX_R_PASS_NOT_TCP_UDP;
	if (in->protocol != KPX_IPPROTO_TCP && in->protocol != KPX_IPPROTO_UDP)
		return KPX_R_PASS_NOT_TCP_UDP;
	quote_len = bpf_ntohs(ip->tot_len);
	if (quote_len < ip_len + KPX_ICMP_HLEN + 20 + 8)
		return KPX_R_PASS_NOT_TCP_UDP;
	quote_len -= ip_len + KPX_ICMP_HLEN + 20; /* bytes of the quoted L4 header and data */
	/* A quoted TCP checksum is fixed when the quote reaches it (no receiver checks it: the
	 * quote is cut short, so leaving it is harmless where it is out of reach). */
	if (in->protocol == KPX_IPPROTO_TCP && quote_len >= KPX_TCP_CHECK_OFF + 2 &&
	    (void *)ports + KPX_TCP_CHECK_OFF + 2 <= data_end)
		tcp_check = (void *)ports + KPX_TCP_CHECK_OFF;

	now = kpx_now();
	if (!kpx_icmp_xlat_forward(ip, in, ports, now, &x) && !kpx_icmp_xlat_reply(ip, in, ports, now, &x))
		return KPX_R_PASS_NOT_TCP_UDP;

	/* The quote: its IP header, then the L4 checksum if the quote carries it. */
	in_diff = kpx_csum_add(kpx_csum_diff32(in->saddr, x.saddr), kpx_csum_diff32(in->daddr, x.daddr));
	in_check = in->check;
	new_check = kpx_csum_update(in_check, in_diff);
	icmp_diff = kpx_csum_add(in_diff, kpx_csum_diff16(in_check, new_check));
	in->check = new_check;
	in->saddr = x.saddr;
	in->daddr = x.daddr;

	/* Ports are in no pseudo-header of the quote's IP checksum, only in its L4 one. */
	port_diff = kpx_csum_add(kpx_csum_diff16(ports[0], x.sport), kpx_csum_diff16(ports[1], x.dport));
	in_diff = kpx_csum_add(in_diff, port_diff);
	icmp_diff = kpx_csum_add(icmp_diff, port_diff);
	ports[0] = x.sport;
	ports[1] = x.dport;
	if (in->protocol == KPX_IPPROTO_UDP) {
		l4_check = ports[3];
		if (l4_check) { /* 0: sent without a checksum, stays so (RFC 768) */
			new_check = kpx_csum_update(l4_check, in_diff);
			if (!new_check)
				new_check = 0xffff;
			icmp_diff = kpx_csum_add(icmp_diff, kpx_csum_diff16(l4_check, new_check));
			ports[3] = new_check;
		}
	} else if (tcp_check) {
		l4_check = *tcp_check;
		new_check = kpx_csum_update(l4_check, in_diff);
		icmp_diff = kpx_csum_add(icmp_diff, kpx_csum_diff16(l4_check, new_check));
		*tcp_check = new_check;
	}
	*(__u16 *)(icmp + 2) = kpx_csum_update(*(__u16 *)(icmp + 2), icmp_diff);

	/* The outer header. */
	orig_saddr = ip->saddr;
	out_diff = kpx_csum_add(kpx_csum_diff32(ip->saddr, x.out_saddr), kpx_csum_diff32(ip->daddr, x.out_daddr));
	ip->check = kpx_csum_update(ip->check, out_diff);
	ip->saddr = x.out_saddr;
	ip->daddr = x.out_daddr;
	return kpx_bounce_if_own(ctx, xdp, origin, x.out_daddr, orig_saddr, KPX_R_FWD_ICMP_ERROR);
}

#endif /* KPX_ICMP_ERROR_H */
