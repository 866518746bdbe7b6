// The recorded-graph file (MOAI_RECORD=file): JSON lines, one object a line.
//
//   {"moai_graph":1}                                  first line: format and version
//   {"segment":0}                                     starts a segment (a graph between syncs)
//   {"tensor":0,"alloc":7,"offset":0,"dtype":"f32","shape":[512,2048],"name":"x"}
//   {"op":"gemm","name":"cublasSgemm_v2","m":512,"n":2048,"k":2048,"batch":1,
//    "trans_a":false,"trans_b":false,"reads":[0,1],"writes":[2]}
//   {"op":"elementwise","name":"relu","flops":1048576,"coupled_dim":-1,"reads":[2],"writes":[3]}
//   {"op":"reduction","name":"sum_rows","reduce_dim":1,"flops":1048576,"reads":[3],"writes":[4]}
//   {"op":"copy"|"memset"|"opaque"|"collective","name":"...","flops":0,"reads":[...],"writes":[...]}
//
// Tensor ids count from 0 within a segment, in order. Optional fields: name,
// flops, coupled_dim, batch, trans_a, trans_b. The reader checks every field
// (type, range, known keys, tensor ids, GEMM operand sizes) and never throws.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

#include "planner/graph.h"

namespace moai::planner {

void writeRecordingHeader(std::ostream& out);
void writeRecordingSegment(const Graph& graph, int segment, std::ostream& out);

// All segments of a recording; false and "line N: why" on the first bad line.
bool readRecording(std::istream& in, std::vector<Graph>* out_segments, std::string* out_error);
bool readRecordingFile(const std::string& path, std::vector<Graph>* out_segments, std::string* out_error);

}  // namespace moai::planner
