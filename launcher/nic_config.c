/* Parsing --net (see nic_config.h); every refusal names the key and the value. And the MAC a NIC
 * gets without mac=. */
#include "nic_config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "fail.h"
#include "share/share_switch.h"

static bool parse_mac(const char *text, uint8_t mac[6])
{
	unsigned bytes[6];
	char extra;
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &bytes[0], &bytes[1], &bytes[2], &bytes[3],
		   &bytes[4], &bytes[5], &extra) != 6 ||
	    strlen(text) != 17)
		return false;
	for (int index = 0; index < 6; index++)
		mac[index] = (uint8_t)bytes[index];
	return true;
}

static bool parse_ipv4(const char *text, uint8_t address[4])
{
	struct in_addr parsed;
	if (inet_pton(AF_INET, text, &parsed) != 1)
		return false;
	memcpy(address, &parsed, 4); /* network order: a.b.c.d as bytes */
	return true;
}

static bool parse_probability(const char *text, double *probability)
{
	char *end;
	errno = 0;
	double value = strtod(text, &end);
	if (errno || end == text || *end || !(value >= 0 && value <= 1))
		return false;
	*probability = value;
	return true;
}

static bool parse_unsigned(const char *text, unsigned long long maximum, unsigned long long *out)
{
	char *end;
	errno = 0;
	if (text[0] < '0' || text[0] > '9')
		return false;
	unsigned long long value = strtoull(text, &end, 0);
	if (errno || *end || value > maximum)
		return false;
	*out = value;
	return true;
}

#define REFUSE(...)                                                                                \
	do {                                                                                       \
		snprintf(error, error_size, __VA_ARGS__);                                          \
		free(copy);                                                                        \
		return false;                                                                      \
	} while (0)

bool nic_config_parse(const char *text, struct nic_config *config, char *error, size_t error_size)
{
	memset(config, 0, sizeof *config);
	config->mtu = NIC_MTU_DEFAULT;
	char *copy = strdup(text);
	if (!copy)
		REFUSE("out of memory");

	char *saved, *item = strtok_r(copy, ",", &saved);
	if (item && strcmp(item, "tap") == 0)
		config->backend = NIC_BACKEND_TAP;
	else if (item && strcmp(item, "share") == 0)
		config->backend = NIC_BACKEND_SHARE;
	else
		REFUSE("--net %s: the backend must come first: 'tap' or 'share'", text);
	const char *backend = item;
	while ((item = strtok_r(NULL, ",", &saved))) {
		char *value = strchr(item, '=');
		if (!value)
			REFUSE("--net: '%s' is not key=value", item);
		*value++ = '\0';
		unsigned long long number;
		bool tap = config->backend == NIC_BACKEND_TAP;
		if ((strcmp(item, "ifname") == 0 || strcmp(item, "bridge") == 0) && !tap)
			REFUSE("--net: '%s' is for tap NICs, not %s", item, backend);
		if (strcmp(item, "name") == 0 && tap)
			REFUSE("--net: a tap NIC takes ifname=, not name=");
		if (strcmp(item, "name") == 0) {
			if (!share_switch_name_is_valid(value))
				REFUSE("--net: switch name '%s' is not 1-%d of A-Z a-z 0-9 _ . - "
				       "(not starting with '.')",
				       value, SHARE_NAME_MAX);
			strcpy(config->switch_name, value);
		} else if (strcmp(item, "ifname") == 0) {
			if (!*value || strlen(value) >= IFNAMSIZ || strpbrk(value, "/ \t"))
				REFUSE("--net: ifname '%s' is not an interface name (1-%d "
				       "characters, no '/' or spaces)",
				       value, IFNAMSIZ - 1);
			strcpy(config->interface_name, value);
		} else if (strcmp(item, "mac") == 0) {
			if (!parse_mac(value, config->mac))
				REFUSE("--net: mac '%s' is not a MAC address like "
				       "52:54:00:12:34:56",
				       value);
			if (config->mac[0] & 1)
				REFUSE("--net: mac %s is a multicast address", value);
			if (!memcmp(config->mac, "\0\0\0\0\0\0", 6))
				REFUSE("--net: mac %s is all zeros", value);
			config->mac_given = true;
		} else if (strcmp(item, "ip") == 0) {
			char *slash = strchr(value, '/');
			if (!slash)
				REFUSE("--net: ip '%s' needs a prefix length, as in 198.18.0.2/24",
				       value);
			*slash = '\0';
			if (!parse_ipv4(value, config->ipv4_address) ||
			    !parse_unsigned(slash + 1, 30, &number) || number < 1)
				REFUSE("--net: ip '%s/%s' is not an IPv4 address with a prefix "
				       "length from 1 to 30",
				       value, slash + 1);
			config->ipv4_prefix_length = (uint8_t)number;
		} else if (strcmp(item, "gw") == 0) {
			if (!parse_ipv4(value, config->ipv4_gateway))
				REFUSE("--net: gw '%s' is not an IPv4 address", value);
		} else if (strcmp(item, "mtu") == 0) {
			if (!parse_unsigned(value, NIC_MTU_MAXIMUM, &number) ||
			    number < NIC_MTU_MINIMUM)
				REFUSE("--net: mtu '%s' is not a number from %d to %d", value,
				       NIC_MTU_MINIMUM, NIC_MTU_MAXIMUM);
			config->mtu = (uint16_t)number;
		} else if (strcmp(item, "offload") == 0) {
			if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0)
				REFUSE("--net: offload '%s' is not 'on' or 'off'", value);
			config->offloads_off = strcmp(value, "off") == 0;
		} else if (strcmp(item, "bridge") == 0) {
			if (!*value || strlen(value) >= IFNAMSIZ)
				REFUSE("--net: bridge '%s' is not an interface name", value);
			strcpy(config->bridge, value);
		} else if (strcmp(item, "loss") == 0 || strcmp(item, "dup") == 0 ||
			   strcmp(item, "reorder") == 0 || strcmp(item, "corrupt") == 0) {
			double *field = item[0] == 'l'	 ? &config->faults.loss
					: item[0] == 'd' ? &config->faults.duplicate
					: item[0] == 'r' ? &config->faults.reorder
							 : &config->faults.corrupt;
			if (!parse_probability(value, field))
				REFUSE("--net: %s '%s' is not a probability from 0 to 1", item,
				       value);
		} else if (strcmp(item, "pcap") == 0) {
			if (!*value || strlen(value) >= sizeof config->pcap_path)
				REFUSE("--net: pcap '%s' is not a file name (1-%zu bytes)", value,
				       sizeof config->pcap_path - 1);
			strcpy(config->pcap_path, value);
		} else if (strcmp(item, "seed") == 0) {
			if (!parse_unsigned(value, UINT64_MAX, &number))
				REFUSE("--net: seed '%s' is not a number", value);
			config->faults.seed = number;
		} else {
			REFUSE("--net: unknown key '%s' (known: ifname, bridge (tap); name "
			       "(share); "
			       "mac, ip, gw, mtu, offload, loss, dup, reorder, corrupt, seed, "
			       "pcap)",
			       item);
		}
	}
	if (config->backend == NIC_BACKEND_TAP && !config->interface_name[0])
		REFUSE("--net %s: say which TAP with ifname=NAME", text);
	if (config->backend == NIC_BACKEND_SHARE && !config->switch_name[0])
		REFUSE("--net %s: say which switch with name=NAME", text);
	if (config->backend == NIC_BACKEND_TAP)
		snprintf(config->name, sizeof config->name, "%s", config->interface_name);
	else
		snprintf(config->name, sizeof config->name, "share:%s", config->switch_name);
	free(copy);
	return true;
}

void nic_config_choose_mac(struct nic_config *config)
{
	if (config->mac_given)
		return;
	config->mac[0] = 0x52, config->mac[1] = 0x54, config->mac[2] = 0x00;
	if (getrandom(config->mac + 3, 3, 0) != 3)
		fail_errno("getrandom for a MAC address");
}
