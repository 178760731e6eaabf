/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Bounds-checked parsing of Ethernet / IPv4 / TCP / UDP into struct kpx_pkt, for tc and
 * XDP alike (ctx.h).
 *
 * kpx_parse() returns 0 for a well-formed, unfragmented IPv4 TCP or UDP packet, or the
 * kpx_reason to finish with: PASS_* for traffic that is not ours to translate,
 * DROP_MALFORMED for a frame whose Ethernet type says IPv4 but whose headers are bad
 * (the kernel's ip_rcv would drop it anyway; we count it).
 *
 * Limitation: fragments (MF set or offset != 0) are passed untouched. Only the first
 * fragment carries the ports, so translating it alone would split the datagram between
 * two destinations; a fragment-tracking map would be needed. In practice this affects
 * UDP datagrams larger than the pod MTU sent to a service address.
 */
#ifndef KPX_PARSE_H
#define KPX_PARSE_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "constants.h"
#include "ctx.h"

/* What the program needs of a parsed packet. Offsets are from the frame's start. The
 * socket hooks (sock.h) fill the tuple fields of one too, to call lb.h. */
struct kpx_pkt {
	__u32 l4_off; /* start of the TCP or UDP header */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto; /* KPX_IPPROTO_TCP or KPX_IPPROTO_UDP */
	__u8 tcp_flags; /* the TCP header's flags (KPX_TCP_*); 0 for UDP */
	__u16 tot_len; /* IP total length (from the skb for BIG TCP GSO packets) */
};

#define KPX_L3_OFF KPX_ETH_HLEN

static __always_inline __u32 kpx_parse(void *ctx, const int xdp, struct kpx_pkt *p)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 ip_len, hdr_len, tot_len, len;

	kpx_pull(ctx, xdp, KPX_PARSE_PULL_LEN);
	data = kpx_data(ctx, xdp);
	data_end = kpx_data_end(ctx, xdp);
	len = kpx_len(ctx, xdp);

	eth = data;
	if ((void *)(eth + 1) > data_end)
		/* No room for the Ethernet type: trust what the stack decided (tc). */
		return kpx_l3_hint(ctx, xdp) == bpf_htons(KPX_ETH_P_IP) ? KPX_R_DROP_MALFORMED
									 : KPX_R_PASS_NOT_IPV4;
	if (eth->h_proto != bpf_htons(KPX_ETH_P_IP))
		return KPX_R_PASS_NOT_IPV4;

	ip = data + KPX_L3_OFF;
	if ((void *)(ip + 1) > data_end)
		return KPX_R_DROP_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return KPX_R_DROP_MALFORMED;
	ip_len = ip->ihl * 4;
	tot_len = bpf_ntohs(ip->tot_len);
	/* BIG TCP GSO packets carry tot_len 0; their length is the skb's (as iph_totlen()). */
	if (tot_len == 0 && kpx_gso_size(ctx, xdp))
		tot_len = len - KPX_L3_OFF;
	if (tot_len < ip_len || tot_len > len - KPX_L3_OFF)
		return KPX_R_DROP_MALFORMED;

	if (ip->protocol == KPX_IPPROTO_TCP)
		hdr_len = sizeof(struct tcphdr);
	else if (ip->protocol == KPX_IPPROTO_UDP)
		hdr_len = sizeof(struct udphdr);
	else
		return KPX_R_PASS_NOT_TCP_UDP;

	if (ip->frag_off & bpf_htons(KPX_IP_MF | KPX_IP_OFFSET))
		return KPX_R_PASS_FRAGMENT;
	if (tot_len < ip_len + hdr_len)
		return KPX_R_DROP_MALFORMED;

	p->l4_off = KPX_L3_OFF + ip_len;
	p->saddr = ip->saddr;
	p->daddr = ip->daddr;
	p->proto = ip->protocol;
	p->tcp_flags = 0;
	p->tot_len = tot_len;

	if (p->proto == KPX_IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ip + ip_len;

		if ((void *)(tcp + 1) > data_end || tcp->doff < 5)
			return KPX_R_DROP_MALFORMED;
		p->sport = tcp->source;
		p->dport = tcp->dest;
		/* The byte after the data offset: CWR ECE URG ACK PSH RST SYN FIN. */
		p->tcp_flags = ((__u8 *)tcp)[13];
	} else {
		struct udphdr *udp = (void *)ip + ip_len;

		if ((void *)(udp + 1) > data_end)
			return KPX_R_DROP_MALFORMED;
		p->sport = udp->source;
		p->dport = udp->dest;
	}
	return 0;
}

#endif /* KPX_PARSE_H */
