/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* "Connection refused" for a frontend with no usable endpoint anywhere (N1), built in
 * place from the packet being refused and sent back out of the interface it came in on
 * (the caller returns KPX_ACT_TX). Both packets go from the frontend address the client
 * used to the client, with the MAC addresses swapped.
 *
 *   TCP: an RST as a TCP stack sends for a closed port (RFC 793 "Reset Generation"):
 *        if the segment carries ACK, RST with seq = its ack; otherwise RST|ACK with
 *        seq 0 and ack = seq + payload length + SYN + FIN. An RST is never answered.
 *        Layout: Ethernet, IPv4 (20), TCP (20), no payload.
 *   UDP: ICMP destination unreachable, port unreachable (type 3, code 3), quoting the
 *        datagram's IP header (with options) and its first 8 bytes (RFC 792).
 *        Layout: Ethernet, IPv4 (20), ICMP (8), quote. The quote is already in place
 *        after the frame is cut to Ethernet + quote and grown by 28 bytes at its head.
 *
 * All checksums are computed in full. Each builder returns the reason to count.
 */
#ifndef KPX_REJECT_H
#define KPX_REJECT_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "constants.h"
#include "csum.h"
#include "ctx.h"
#include "parse.h"

#define KPX_RST_LEN (KPX_ETH_HLEN + 20 + 20)
#define KPX_ICMP_GROW 28 /* the new IPv4 header and the ICMP header */
#define KPX_TCP_FLAG_RST 0x04
#define KPX_TCP_FLAG_ACK 0x10

/* Writes the Ethernet header and a 20-byte IPv4 header (checksum included) of a
 * generated packet from the refused packet's destination to its source. */
static __always_inline void kpx_reject_l2l3(struct ethhdr *eth, struct iphdr *ip, const void *end,
					    const __u8 *to_mac, const __u8 *from_mac,
					    const struct kpx_pkt *p, __u8 proto, __u8 tos,
					    __u16 tot_len)
{
	__builtin_memcpy(eth->h_dest, to_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, from_mac, ETH_ALEN);
	eth->h_proto = bpf_htons(KPX_ETH_P_IP);
	*(__u8 *)ip = 0x45; /* version 4, ihl 5 */
	ip->tos = tos;
	ip->tot_len = bpf_htons(tot_len);
	ip->id = 0;
	ip->frag_off = 0;
	ip->ttl = KPX_REJECT_TTL;
	ip->protocol = proto;
	ip->check = 0;
	ip->saddr = p->daddr;
	ip->daddr = p->saddr;
	ip->check = kpx_csum_fold(kpx_csum_words(ip, 20, end, 0));
}

static __always_inline __u32 kpx_reject_tcp(void *ctx, const int xdp, const struct kpx_pkt *p)
{
	void *data = kpx_data(ctx, xdp), *end = kpx_data_end(ctx, xdp);
	struct ethhdr *eth = data;
	struct tcphdr *th = data + (p->l4_off & 0x7f);
	__u8 client_mac[ETH_ALEN], our_mac[ETH_ALEN];
	__be32 seq, ack_seq;
	__u32 hdrs, advance;
	__u8 flags;
	struct iphdr *ip;
	__u32 sum;

	if ((void *)(eth + 1) > end || (void *)(th + 1) > end)
		return KPX_R_DROP_REJECT_FAILED;
	if (th->rst)
		return KPX_R_DROP_REJECT_NOT_SENT;
	__builtin_memcpy(client_mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
	hdrs = p->l4_off - KPX_L3_OFF + th->doff * 4;
	advance = (p->tot_len > hdrs ? p->tot_len - hdrs : 0) + th->syn + th->fin;
	if (th->ack) {
		seq = th->ack_seq;
		ack_seq = 0;
		flags = KPX_TCP_FLAG_RST;
	} else {
		seq = 0;
		ack_seq = bpf_htonl(bpf_ntohl(th->seq) + advance);
		flags = KPX_TCP_FLAG_RST | KPX_TCP_FLAG_ACK;
	}

	if (kpx_set_len(ctx, xdp, KPX_RST_LEN))
		return KPX_R_DROP_REJECT_FAILED;
	data = kpx_data(ctx, xdp);
	end = kpx_data_end(ctx, xdp);
	if (data + KPX_RST_LEN > end)
		return KPX_R_DROP_REJECT_FAILED;
	ip = data + KPX_L3_OFF;
	th = data + KPX_L3_OFF + 20;
	kpx_reject_l2l3(data, ip, end, client_mac, our_mac, p, KPX_IPPROTO_TCP, 0, 40);

	th->source = p->dport;
	th->dest = p->sport;
	th->seq = seq;
	th->ack_seq = ack_seq;
	((__u8 *)th)[12] = 5 << 4; /* data offset 5, no options */
	((__u8 *)th)[13] = flags;
	th->window = 0;
	th->check = 0;
	th->urg_ptr = 0;
	/* Pseudo-header: addresses, zero + protocol, TCP length. */
	sum = kpx_csum_add(p->daddr, p->saddr);
	sum = kpx_csum_add(sum, bpf_htons(KPX_IPPROTO_TCP));
	sum = kpx_csum_add(sum, bpf_htons(20));
	th->check = kpx_csum_fold(kpx_csum_words(th, 20, end, sum));
	return KPX_R_REJECT_TCP;
}

static __always_inline __u32 kpx_reject_udp(void *ctx, const int xdp, const struct kpx_pkt *p)
{
	void *data = kpx_data(ctx, xdp), *end = kpx_data_end(ctx, xdp);
	struct ethhdr *eth = data;
	__u8 client_mac[ETH_ALEN], our_mac[ETH_ALEN];
	/* The quote: the IP header (20..60 bytes) and 8 bytes of the datagram. */
	__u32 quote = (p->l4_off - KPX_L3_OFF + 8) & 0x7f;
	__u8 *icmp;

	if ((void *)(eth + 1) > end)
		return KPX_R_DROP_REJECT_FAILED;
	__builtin_memcpy(client_mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);

	/* Cut first, then grow: growing a full-MTU datagram first could exceed what the
	 * device may carry. */
	if (kpx_set_len(ctx, xdp, KPX_ETH_HLEN + quote))
		return KPX_R_DROP_REJECT_FAILED;
	if (kpx_grow_head(ctx, xdp, KPX_ICMP_GROW))
		return KPX_R_DROP_REJECT_FAILED;
	data = kpx_data(ctx, xdp);
	end = kpx_data_end(ctx, xdp);
	if (data + KPX_ETH_HLEN + KPX_ICMP_GROW + quote > end)
		return KPX_R_DROP_REJECT_FAILED;
	/* Ethernet + IP need not be re-checked after the check above, but the verifier
	 * wants a constant bound for fixed-offset stores. */
	if (data + KPX_ETH_HLEN + KPX_ICMP_GROW > end)
		return KPX_R_DROP_REJECT_FAILED;
	kpx_reject_l2l3(data, data + KPX_L3_OFF, end, client_mac, our_mac, p, KPX_IPPROTO_ICMP,
			0xc0 /* precedence "internetwork control", as Linux sends */,
			20 + 8 + quote);

	icmp = data + KPX_L3_OFF + 20;
	icmp[0] = KPX_ICMP_DEST_UNREACH;
	icmp[1] = KPX_ICMP_PORT_UNREACH;
	*(__u16 *)(icmp + 2) = 0;
	*(__u32 *)(icmp + 4) = 0; /* unused */
	*(__u16 *)(icmp + 2) = kpx_csum_fold(kpx_csum_words(icmp, 8 + quote, end, 0));
	return KPX_R_REJECT_UDP;
}

#endif /* KPX_REJECT_H */
