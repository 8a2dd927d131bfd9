/*
 * A small JSON writer for the launcher's machine-readable output: the metrics stream (one object
 * per line) and anything else that wants JSON. Objects and numbers only, names escaped, into a
 * growing buffer the caller then writes in one go.
 *
 *	struct json_writer json;
 *	json_begin(&json);                      // {
 *	json_number(&json, "time_ns", now);     //  "time_ns":123,
 *	json_object(&json, "nic");              //  "nic":{
 *	json_number(&json, "receive_frames", 7);
 *	json_end(&json);                        //  }
 *	json_end(&json);                        // }
 *	... json.text, json.length ...
 */
#ifndef RINGVISOR_OBSERVE_JSON_WRITER_H
#define RINGVISOR_OBSERVE_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH_MAX 8

struct json_writer {
	char *text;
	size_t length, capacity;
	unsigned depth;
	bool first[JSON_DEPTH_MAX + 1]; /* no member yet at this depth: no comma before the next */
	bool failed;			/* out of memory or too deep: the text is not to be used */
};

void json_init(struct json_writer *json);
void json_release(struct json_writer *json);
/* Empties the text for the next document, keeping the buffer. */
void json_reset(struct json_writer *json);

void json_begin(struct json_writer *json);		      /* a top-level object */
void json_object(struct json_writer *json, const char *name); /* a member that is an object */
void json_end(struct json_writer *json);		      /* closes the innermost object */
void json_number(struct json_writer *json, const char *name, uint64_t value);
void json_signed(struct json_writer *json, const char *name, int64_t value);
void json_string(struct json_writer *json, const char *name, const char *value);

#endif
