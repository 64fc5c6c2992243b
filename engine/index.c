/* SPDX-License-Identifier: MIT */
#include "engine/index.h"

#include <string.h>

static struct wm_index_entry **bucket_for(struct wm_index_table *table, uint32_t index)
{
	/* Indices are random and chosen by us, so their low bits spread evenly. */
	return &table->buckets[index & (WM_INDEX_BUCKETS - 1)];
}

void wm_index_init(struct wm_index_table *table)
{
	memset(table, 0, sizeof(*table));
}

static bool index_in_use(const struct wm_index_table *table, uint32_t index)
{
	const struct wm_index_entry *e;

	for (e = table->buckets[index & (WM_INDEX_BUCKETS - 1)]; e; e = e->next)
		if (e->index == index)
			return true;
	return false;
}

static void link_entry(struct wm_index_table *table, struct wm_index_entry *entry)
{
	struct wm_index_entry **head = bucket_for(table, entry->index);

	entry->next = *head;
	*head = entry;
	entry->inserted = true;
	table->count++;
}

uint32_t wm_index_insert(struct wm_index_table *table, struct wm_index_entry *entry,
			 const struct wm_rng *rng)
{
	uint32_t index;

	wm_index_remove(table, entry);
	do
		wm_rng_fill(rng, &index, sizeof(index));
	while (index_in_use(table, index));
	entry->index = index;
	link_entry(table, entry);
	return index;
}

void wm_index_remove(struct wm_index_table *table, struct wm_index_entry *entry)
{
	struct wm_index_entry **pp;

	if (!entry->inserted)
		return;
	for (pp = bucket_for(table, entry->index); *pp; pp = &(*pp)->next) {
		if (*pp == entry) {
			*pp = entry->next;
			table->count--;
			break;
		}
	}
	entry->next = NULL;
	entry->inserted = false;
}

void wm_index_replace(struct wm_index_table *table, struct wm_index_entry *old,
		      struct wm_index_entry *new_entry)
{
	uint32_t index = old->index;

	wm_index_remove(table, new_entry);
	wm_index_remove(table, old);
	new_entry->index = index;
	link_entry(table, new_entry);
}

struct wm_index_entry *wm_index_lookup(const struct wm_index_table *table, uint32_t index,
				       unsigned type_mask)
{
	struct wm_index_entry *e;

	for (e = table->buckets[index & (WM_INDEX_BUCKETS - 1)]; e; e = e->next)
		if (e->index == index && (e->type & type_mask))
			return e;
	return NULL;
}
