/* Seeded fault decisions for a virtual link (see fault_injection.h). */
#include "nic/fault_injection.h"

/* splitmix64: small, fast, and every seed (including 0) gives a good sequence. */
static uint64_t next_random(struct fault_injector *injector)
{
	uint64_t z = (injector->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t threshold(double probability)
{
	if (probability <= 0)
		return 0;
	if (probability >= 1)
		return UINT32_MAX;
	return (uint32_t)(probability * 4294967296.0);
}

void fault_injector_init(struct fault_injector *injector, const struct fault_settings *settings,
			 uint64_t stream)
{
	injector->state = settings->seed ^ (stream * 0xd1b54a32d192ed03ull);
	injector->loss = threshold(settings->loss);
	injector->duplicate = threshold(settings->duplicate);
	injector->reorder = threshold(settings->reorder);
	injector->corrupt = threshold(settings->corrupt);
}

bool fault_injector_active(const struct fault_injector *injector)
{
	return injector->loss || injector->duplicate || injector->reorder || injector->corrupt;
}

bool fault_roll(struct fault_injector *injector, uint32_t threshold)
{
	if (threshold == 0)
		return false; /* no draw: a fault that is off does not shift the others */
	return (uint32_t)(next_random(injector) >> 32) < threshold || threshold == UINT32_MAX;
}

uint32_t fault_random_below(struct fault_injector *injector, uint32_t limit)
{
	return limit ? (uint32_t)((next_random(injector) >> 32) % limit) : 0;
}
