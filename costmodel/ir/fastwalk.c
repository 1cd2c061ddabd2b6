/* One C walk over an MLIR module through the MLIR C API of libIREECompiler.so.
 *
 * The Python bindings create an object per op, operand, result and type they hand out;
 * that dominates featurization. This walk records, in flat arrays the caller allocates,
 * what the graph builder needs for every op (pre-order): its parent, nesting depth, the
 * index just past its last descendant, its name identifier, whether it carries a schedule
 * attribute, and per operand the producing op (or -1) and type, per result the type.
 * Python then decodes each unique name and type once. Built by costmodel/ir/native.py.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

typedef struct { void *ptr; } MlirOperation;
typedef struct { void *ptr; } MlirRegion;
typedef struct { void *ptr; } MlirBlock;
typedef struct { void *ptr; } MlirValue;
typedef struct { const void *ptr; } MlirType;
typedef struct { const void *ptr; } MlirIdentifier;
typedef struct { const void *ptr; } MlirAttribute;
typedef struct { const char *data; size_t length; } MlirStringRef;

extern MlirRegion mlirOperationGetFirstRegion(MlirOperation);
extern MlirRegion mlirRegionGetNextInOperation(MlirRegion);
extern MlirBlock mlirRegionGetFirstBlock(MlirRegion);
extern MlirBlock mlirBlockGetNextInRegion(MlirBlock);
extern MlirOperation mlirBlockGetFirstOperation(MlirBlock);
extern MlirOperation mlirOperationGetNextInBlock(MlirOperation);
extern MlirIdentifier mlirOperationGetName(MlirOperation);
extern MlirStringRef mlirIdentifierStr(MlirIdentifier);
extern intptr_t mlirOperationGetNumOperands(MlirOperation);
extern MlirValue mlirOperationGetOperand(MlirOperation, intptr_t);
extern intptr_t mlirOperationGetNumResults(MlirOperation);
extern MlirValue mlirOperationGetResult(MlirOperation, intptr_t);
extern MlirType mlirValueGetType(MlirValue);
extern bool mlirValueIsAOpResult(MlirValue);
extern MlirOperation mlirOpResultGetOwner(MlirValue);
extern intptr_t mlirOperationGetNumAttributes(MlirOperation);
extern MlirAttribute mlirOperationGetAttributeByName(MlirOperation, MlirStringRef);

/* Open-addressing map: op pointer -> pre-order index. */
typedef struct { void **keys; int64_t *vals; uint64_t mask; } PtrMap;

static uint64_t mix(void *p) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33;
  return x;
}

static void map_put(PtrMap *m, void *k, int64_t v) {
  uint64_t i = mix(k) & m->mask;
  while (m->keys[i] && m->keys[i] != k) i = (i + 1) & m->mask;
  m->keys[i] = k;
  m->vals[i] = v;
}

static int64_t map_get(const PtrMap *m, void *k) {
  uint64_t i = mix(k) & m->mask;
  while (m->keys[i]) {
    if (m->keys[i] == k) return m->vals[i];
    i = (i + 1) & m->mask;
  }
  return -1;
}

typedef struct {
  int64_t n, n_operands, n_results;
  /* outputs (NULL while counting) */
  int64_t *parent, *end, *operand_start, *operand_producer, *result_start;
  int32_t *depth;
  int8_t *scheduled;
  const void **name, **operand_type, **result_type, **op;
  const MlirStringRef *sched_names;
  int n_sched;
  PtrMap map;
} Walk;

static void visit(Walk *w, MlirOperation op, int64_t parent, int32_t depth) {
  int64_t idx = w->n++;
  intptr_t n_in = mlirOperationGetNumOperands(op);
  intptr_t n_out = mlirOperationGetNumResults(op);
  if (w->parent) {
    w->parent[idx] = parent;
    w->depth[idx] = depth;
    w->name[idx] = mlirOperationGetName(op).ptr;
    w->op[idx] = op.ptr;
    int8_t sched = 0;
    if (w->n_sched && mlirOperationGetNumAttributes(op) > 0) {
      for (int k = 0; k < w->n_sched && !sched; ++k)
        sched = mlirOperationGetAttributeByName(op, w->sched_names[k]).ptr != NULL;
    }
    w->scheduled[idx] = sched;
    w->operand_start[idx] = w->n_operands;
    for (intptr_t i = 0; i < n_in; ++i) {
      MlirValue v = mlirOperationGetOperand(op, i);
      int64_t prod = -1;
      if (mlirValueIsAOpResult(v)) prod = map_get(&w->map, mlirOpResultGetOwner(v).ptr);
      w->operand_producer[w->n_operands + i] = prod;
      w->operand_type[w->n_operands + i] = mlirValueGetType(v).ptr;
    }
    w->result_start[idx] = w->n_results;
    for (intptr_t i = 0; i < n_out; ++i)
      w->result_type[w->n_results + i] = mlirValueGetType(mlirOperationGetResult(op, i)).ptr;
    if (n_out) map_put(&w->map, op.ptr, idx);
  }
  w->n_operands += n_in;
  w->n_results += n_out;
  for (MlirRegion r = mlirOperationGetFirstRegion(op); r.ptr; r = mlirRegionGetNextInOperation(r))
    for (MlirBlock b = mlirRegionGetFirstBlock(r); b.ptr; b = mlirBlockGetNextInRegion(b))
      for (MlirOperation c = mlirBlockGetFirstOperation(b); c.ptr; c = mlirOperationGetNextInBlock(c))
        visit(w, c, idx, depth + 1);
  if (w->end) w->end[idx] = w->n;
}

/* Sizes for the fill call: out[0] ops, out[1] operands, out[2] results. */
void cm_count(void *root, int64_t *out) {
  Walk w;
  memset(&w, 0, sizeof w);
  MlirOperation op = {root};
  visit(&w, op, -1, -1);
  out[0] = w.n;
  out[1] = w.n_operands;
  out[2] = w.n_results;
}

/* Fill the arrays (sized by cm_count); returns 0, or -1 when out of memory. The root is
 * index 0 with depth -1, so the ops directly in it have depth 0. */
int cm_fill(void *root, const char **sched_names, const int64_t *sched_lens, int n_sched,
            int64_t n_ops, int64_t *parent, int32_t *depth, int64_t *end, const void **name,
            int8_t *scheduled, const void **op, int64_t *operand_start,
            int64_t *operand_producer, const void **operand_type, int64_t *result_start,
            const void **result_type) {
  Walk w;
  memset(&w, 0, sizeof w);
  MlirStringRef refs[16];
  if (n_sched > 16) n_sched = 16;
  for (int k = 0; k < n_sched; ++k) {
    refs[k].data = sched_names[k];
    refs[k].length = (size_t)sched_lens[k];
  }
  uint64_t cap = 16;
  while (cap < (uint64_t)(2 * n_ops + 2)) cap <<= 1;
  w.map.keys = calloc(cap, sizeof(void *));
  w.map.vals = malloc(cap * sizeof(int64_t));
  if (!w.map.keys || !w.map.vals) {
    free(w.map.keys);
    free(w.map.vals);
    return -1;
  }
  w.map.mask = cap - 1;
  w.parent = parent; w.depth = depth; w.end = end; w.name = name; w.scheduled = scheduled;
  w.op = op; w.operand_start = operand_start; w.operand_producer = operand_producer;
  w.operand_type = operand_type; w.result_start = result_start; w.result_type = result_type;
  w.sched_names = refs; w.n_sched = n_sched;
  MlirOperation r = {root};
  visit(&w, r, -1, -1);
  operand_start[w.n] = w.n_operands;
  result_start[w.n] = w.n_results;
  free(w.map.keys);
  free(w.map.vals);
  return 0;
}

/* The text of an identifier (an op name). */
void cm_identifier(const void *ident, const char **data, int64_t *length) {
  MlirIdentifier id = {ident};
  MlirStringRef s = mlirIdentifierStr(id);
  *data = s.data;
  *length = (int64_t)s.length;
}
