/*
 * What the user asked of one NIC:
 *   --net tap,ifname=NAME[,bridge=BR][,COMMON...]    a TAP device (tap/tap.c)
 *   --net share,name=NAME[,COMMON...]                 a shared-memory switch (share/share_switch.h)
 * where COMMON is mac=.., ip=ADDR/PREFIX, gw=ADDR, mtu=N, offload=on|off, and the faults loss=P,
 * dup=P, reorder=P, corrupt=P, seed=N, and pcap=FILE (a capture of its frames).
 */
#ifndef RINGVISOR_NIC_CONFIG_H
#define RINGVISOR_NIC_CONFIG_H

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "nic/fault_injection.h"

#define NIC_MTU_DEFAULT 1500
#define NIC_MTU_MINIMUM 68
#define NIC_MTU_MAXIMUM 65500

enum nic_backend_kind {
	NIC_BACKEND_TAP,
	NIC_BACKEND_SHARE,
};

struct nic_config {
	enum nic_backend_kind backend;
	char name[48];		       /* for messages and counters: the TAP's, or "share:NAME" */
	char interface_name[IFNAMSIZ]; /* tap: the TAP */
	char switch_name[33];	       /* share: the switch */
	uint8_t mac[6];
	bool mac_given;
	uint8_t ipv4_address[4];
	uint8_t ipv4_gateway[4];
	uint8_t ipv4_prefix_length;
	uint16_t mtu;
	bool offloads_off;     /* offload=off: offer no checksum offload or TSO */
	char bridge[IFNAMSIZ]; /* empty: none */
	struct fault_settings faults;
	char pcap_path[256]; /* pcap=FILE: capture the NIC's frames; empty: none */
};

/* Parses one --net value; false with a message in `error` if anything in it is wrong. */
bool nic_config_parse(const char *text, struct nic_config *config, char *error, size_t error_size);

/* Without mac=, a random locally administered unicast MAC, chosen before the backend opens
 * (a switch port publishes it when it joins). Fails the launcher if there is no randomness. */
void nic_config_choose_mac(struct nic_config *config);

#endif
