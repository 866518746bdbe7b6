#include "interpose/core/segment_planner.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include "interpose/core/device_group.h"
#include "interpose/core/log.h"
#include "planner/recorded_graph_file.h"
#include "planner/sharding_rules.h"

namespace moai {

using planner::Graph;
using planner::Op;
using planner::OpKind;
using planner::Plan;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Recorded again in a later step: the same op as far as a plan is concerned.
bool sameOp(const Graph& ga, const Op& a, const Graph& gb, const Op& b) {
  if (a.kind != b.kind || a.name != b.name || a.reads.size() != b.reads.size() || a.writes.size() != b.writes.size())
    return false;
  if (a.kind == OpKind::Gemm) {
    const auto &x = a.gemm, &y = b.gemm;
    if (x.m != y.m || x.n != y.n || x.k != y.k || x.batch != y.batch || x.trans_a != y.trans_a || x.trans_b != y.trans_b)
      return false;
  }
  auto sameTensors = [&](const std::vector<int>& p, const std::vector<int>& q) {
    for (size_t i = 0; i < p.size(); ++i)
      if (ga.tensors[p[i]].bytes() != gb.tensors[q[i]].bytes()) return false;
    return true;
  };
  return a.flops == b.flops && sameTensors(a.reads, b.reads) && sameTensors(a.writes, b.writes);
}

modnn_dtype opDtype(const Graph& g, const Op& op) {
  if (!op.reads.empty()) return g.tensors[op.reads[0]].dtype;
  if (!op.writes.empty()) return g.tensors[op.writes[0]].dtype;
  return MODNN_F32;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The plan strategy the group runs when it splits `op` (a GEMM by K or by
// the twin's rows, its own output columns).
std::string splitName(const Op& op, bool by_k = false) {
  if (op.kind != OpKind::Gemm) return "split dim 0";
  return by_k ? "split K" : op.gemm.batch > 1 ? "split batch" : "split M";
}

// A plan's choice in the group's terms: what the group would run for it.
bool sameChoice(const std::string& planned, int planned_ways, const std::string& ran, int ran_ways) {
  auto whole = [](const std::string& s) { return s == "whole" || s == "replicate"; };
  if (whole(planned) && whole(ran)) return true;
  return planned == ran && planned_ways == ran_ways;
}

// What the device group can run: a GEMM whole or split by the twin's rows
// (its own output columns) or, where its members add partial sums
// (`split_k`) of the GEMM's output type, by K; an element-wise op (a kernel
// the PTX analysis proved so, AXPY/SCAL/SWAP) whole or split by ranges, and
// every op whole on each device. `graph` is the one being planned.
planner::SearchOptions runnableHere(const Graph& graph, bool split_k) {
  planner::SearchOptions o;
  o.allow_offload = false;  // the group keeps every tensor on its devices
  o.runnable = [&graph, split_k](const Op& op, const planner::Strategy& s) {
    if (op.kind == OpKind::Gemm && op.gemm.batch > 1) return s.name == "split batch";
    if (op.kind == OpKind::Gemm) {
      modnn_dtype out = graph.tensors[size_t(op.writes[0])].dtype;
      return s.name == "split M" || (s.name == "split K" && split_k && (out == MODNN_F32 || out == MODNN_F64));
    }
    if (op.kind == OpKind::Elementwise) return s.name == "split dim 0" || s.name == "replicate";
    return s.name == "replicate";
  };
  return o;
}

constexpr size_t kMaxSegmentOps = 50000;  // ops in one segment before it is cut
constexpr size_t kMaxEntries = 256;   // distinct graphs kept with their plans
constexpr size_t kMaxSteps = 100000;  // segment runs kept for the report

}  // namespace

struct SegmentPlanner::Entry {
  uint64_t key = 0;
  int devices = 1;                  // planned for
  Graph graph;
  Plan plan;
  bool planned = false;
  std::string not_planned;          // why (an invalid graph)
  double unconstrained_seconds = -1;  // the plan with every strategy allowed
  std::shared_ptr<SegmentRun> last;  // the latest run of this graph
  int runs = 0;
  double measured_total = 0;
  double last_used = 0;
};

struct SegmentPlanner::Step {
  Entry* entry = nullptr;
  double measured = -1;   // first op to the synchronising call's return; -1: never synchronised
  double predicted = 0;   // as it ran
  double predicted_plan = 0;
  int64_t bytes_moved = 0;
  int64_t moved_measured = -1;  // between members, counted by the group; -1: not a group
  double planning = 0;
  bool hit = false;
  int plan_driven = 0;    // GEMMs whose split came from a plan
  int gemms = 0;
  int elementwise_plan_driven = 0, elementwise = 0;  // the same for element-wise ops
  int differs = 0;        // ops that ran otherwise than planned
};

// The segment's cost as the group ran it, op by op, in the cost model's terms.
struct SegmentPlanner::AsRun {
  double seconds = 0;
  int64_t bytes_moved = 0;
  std::vector<std::string> strategy;  // per op
  std::vector<int> ways;
  std::vector<double> op_seconds;
  std::vector<bool> differs;
  int plan_driven = 0, gemms = 0, differ_count = 0;
  int elementwise_plan_driven = 0, elementwise = 0;
};

std::unique_ptr<SegmentPlanner> SegmentPlanner::fromEnvironment(const modnn_device& device,
                                                                const modnn_device_props& props,
                                                                VirtualAddressSpace& vas) {
  PlannerOptions o;
  o.devices = std::max(groupSize(device), 1);
  const char* rep = std::getenv("MOAI_PLAN_REPORT");
  const char* rec = std::getenv("MOAI_RECORD");
  const char* split = std::getenv("MOAI_SPLIT");
  o.report = rep && *rep && std::strcmp(rep, "0") != 0;
  if (o.report) o.json_path = std::strcmp(rep, "1") == 0 ? "moai-plan-" + std::to_string(getpid()) + ".json" : rep;
  if (rec && *rec) o.record_path = rec;
  o.split_override = split && (std::strcmp(split, "always") == 0 || std::strcmp(split, "never") == 0 ||
                               std::strcmp(split, "k") == 0);
  if (!o.report && o.record_path.empty() && o.devices < 2) return nullptr;
  // One member's numbers.
  modnn_device_props member = props;
  if (o.devices > 1) member.peak_flops_fp32 /= o.devices;
  if (uint64_t m = groupMemberMemory(device)) member.total_memory = m;
  Calibration c = calibrate(device, member, vas);
  log().info("calibration: {}", describeCalibration(c));
  setGroupCosts(device, GroupCosts{c.kernel_rate, c.link.bandwidth, c.link.latency, c.op_overhead});
  auto planner = std::make_unique<SegmentPlanner>(std::move(o), std::move(c), member, device);
  if (planner->opt_.report) {
    static SegmentPlanner* self = planner.get();  // the client keeps it until exit
    std::atexit([] { self->finish(); });
  }
  return planner;
}

SegmentPlanner::SegmentPlanner(PlannerOptions options, Calibration calibration, const modnn_device_props& props,
                               modnn_device device)
    : opt_(std::move(options)),
      device_(device),
      calibration_(std::move(calibration)),
      cluster_(clusterFrom(calibration_, props)),
      model_(cluster_, opt_.devices) {
  if (calibration_.kernel_rate > 0 && !cluster_.kinds.empty())
    recorder_.setKernelCost(cluster_.kinds[0].vector_flops / calibration_.kernel_rate);
  if (!opt_.record_path.empty()) {
    record_.open(opt_.record_path, std::ios::trunc);
    if (record_)
      planner::writeRecordingHeader(record_), record_.flush();
    else
      log().error("MOAI_RECORD: cannot write {}", opt_.record_path);
  }
}

SegmentPlanner::~SegmentPlanner() = default;

SegmentPlanner::Entry* SegmentPlanner::expectedFor(const Op& first) {
  const Graph& g = recorder_.graph();
  auto starts = [&](const Entry* e) {
    return e && e->planned && e->devices == opt_.devices && !e->graph.ops.empty() &&
           sameOp(e->graph, e->graph.ops[0], g, first);
  };
  if (auto s = successor_.find(last_key_); s != successor_.end())
    if (auto e = by_key_.find(s->second); e != by_key_.end() && starts(e->second)) return e->second;
  Entry* best = nullptr;
  for (auto& e : entries_)
    if (starts(e.get()) && (!best || e->last_used > best->last_used)) best = e.get();
  return best;
}

// A lease the scheduler resized (the device group follows it at a flush):
// segments from now on are planned for the devices there are now. The
// cluster keeps its measured numbers; a group that started with one device
// has no member-to-member link measured, so the host link stands in.
void SegmentPlanner::followDevices() {
  int n = device_.iface ? std::max(groupSize(device_), 1) : opt_.devices;
  if (n == opt_.devices) return;
  log().info("planning for {} device(s) from now on (was {})", n, opt_.devices);
  opt_.devices = n;
  cluster_ = cluster_.withDevices(n);
  model_ = planner::CostModel(cluster_, n);
}

PlanTag SegmentPlanner::record(const RecordedOp& rop) {
  std::lock_guard<std::mutex> lock(mu_);
  // A program that never synchronises still gets segments (not measured).
  if (recorder_.graph().ops.size() >= kMaxSegmentOps) endSegmentLocked(false);
  std::shared_ptr<const KernelFootprint> footprint;
  bool analysed = false;
  if (auto* l = std::get_if<LaunchOp>(&rop.body); l && opt_.devices > 1 && l->module && l->module->loaded) {
    footprint = launchFootprint(device_, launchOf(*l));
    analysed = true;
  }
  int idx = recorder_.add(rop, footprint.get());
  if (idx < 0) return {};
  const Graph& g = recorder_.graph();
  const Op& op = g.ops[size_t(idx)];
  if (!current_) {
    followDevices();
    current_ = std::make_shared<SegmentRun>();
    current_->start = now();
    current_->moved_at_start = groupBytesMoved(device_);
    diverged_ = false;
    expected_ = expectedFor(op);
  }
  if (expected_ && !diverged_ &&
      (size_t(idx) >= expected_->graph.ops.size() || !sameOp(expected_->graph, expected_->graph.ops[size_t(idx)], g, op)))
    diverged_ = true;
  int ways = 0;
  bool by_k = false;
  std::string by;
  if (op.kind == OpKind::Gemm || op.kind == OpKind::Elementwise) {
    if (opt_.split_override) {
      by = "MOAI_SPLIT";
    } else if (opt_.devices < 2) {
      ways = 1, by = "one device";
    } else if (!expected_ || diverged_) {
      by = "no plan yet: group cost model";
    } else {
      const planner::OpAssignment& a = expected_->plan.ops[size_t(idx)];
      if (a.strategy == "whole" || a.strategy == "replicate")
        ways = 1, by = "plan";
      else if (a.strategy == splitName(op))
        ways = a.ways, by = "plan";
      else if (a.strategy == splitName(op, true) && groupSplitsK(device_))
        ways = a.ways, by_k = true, by = "plan";
      else
        by = "plan chose " + a.strategy + " (not runnable here): group cost model";
    }
  }
  bool interleaved = false;
  if (footprint)
    for (const StoreStream& s : footprint->streams) interleaved = interleaved || s.stride != 0;
  current_->interleaved.push_back(interleaved);
  current_->decided.push_back(GroupSplit{ways, by_k});
  current_->decided_by.push_back(std::move(by));
  {
    std::lock_guard<std::mutex> l(current_->mu);
    current_->executed.push_back(GroupSplit{-1, false});
  }
  return PlanTag{current_, idx, ways, by_k, analysed, std::move(footprint)};
}

modnn_status SegmentPlanner::run(const modnn_device& device, const modnn_op& op, const PlanTag& tag) {
  GroupSplit used{1, false};
  modnn_status st = groupSize(device) > 0 ? runOnGroup(device, op, GroupSplit{tag.ways, tag.by_k}, &used)
                                          : device.iface->run_op(device.ctx, &op);
  if (tag.segment && tag.op >= 0) {
    std::lock_guard<std::mutex> lock(tag.segment->mu);
    if (size_t(tag.op) < tag.segment->executed.size()) tag.segment->executed[size_t(tag.op)] = used;
  }
  return st;
}

modnn_status SegmentPlanner::launch(const modnn_device& device, const modnn_kernel_launch& l, const PlanTag& tag) {
  int used = 1;
  modnn_status st =
      groupSize(device) > 0 ? launchOnGroup(device, l, tag.ways, tag.analysed ? &tag.footprint : nullptr, &used)
                            : device.iface->launch_kernel(device.ctx, &l);
  if (tag.segment && tag.op >= 0) {
    std::lock_guard<std::mutex> lock(tag.segment->mu);
    if (size_t(tag.op) < tag.segment->executed.size()) tag.segment->executed[size_t(tag.op)] = GroupSplit{used, false};
  }
  return st;
}

void SegmentPlanner::endSegment() {
  std::lock_guard<std::mutex> lock(mu_);
  endSegmentLocked(true);
}

void SegmentPlanner::endSegmentLocked(bool synchronised) {
  if (recorder_.empty()) return;
  double end = now();
  Graph graph = recorder_.take();
  std::shared_ptr<SegmentRun> run = std::move(current_);
  current_.reset();
  expected_ = nullptr;
  if (record_) {
    planner::writeRecordingSegment(graph, segments_, record_);
    record_.flush();
  }
  ++segments_;
  Step step;
  step.measured = synchronised ? end - run->start : -1;
  // Plan, or find the plan: the cache key is the graph's hash and the devices.
  double t0 = now();
  std::string why = graph.validate();
  uint64_t key = why.empty() ? planner::PlanCache::key(graph, model_) : planner::graphHash(graph);
  const Plan* plan = nullptr;
  if (why.empty()) plan = &cache_.plan(graph, model_, runnableHere(graph, groupSplitsK(device_)), &step.hit);
  step.planning = now() - t0;
  Entry* e = nullptr;
  if (auto it = by_key_.find(key); it != by_key_.end()) e = it->second;
  if (!e && entries_.size() < kMaxEntries) {
    entries_.push_back(std::make_unique<Entry>());
    e = entries_.back().get();
    e->key = key;
    e->devices = opt_.devices;
    e->graph = std::move(graph);
    e->planned = plan != nullptr;
    e->not_planned = why;
    if (plan) e->plan = *plan;
    // What a runtime with sharded tensors could reach, for comparison.
    if (plan && opt_.report && opt_.devices > 1) e->unconstrained_seconds = planner::planGraph(e->graph, model_).step_seconds;
    by_key_[key] = e;
  }
  successor_[last_key_] = key;
  last_key_ = key;
  if (!e) return;  // too many distinct graphs to keep: planned, not reported
  e->last = run;
  e->runs++;
  e->last_used = end;
  if (step.measured > 0) e->measured_total += step.measured;
  AsRun r = asRun(*e, *run, &placements_);
  step.entry = e;
  step.predicted = r.seconds;
  step.predicted_plan = e->planned ? e->plan.step_seconds : -1;
  step.bytes_moved = r.bytes_moved;
  if (device_.iface && groupSize(device_) > 0)
    step.moved_measured = int64_t(groupBytesMoved(device_) - run->moved_at_start);
  step.plan_driven = r.plan_driven;
  step.gemms = r.gemms;
  step.elementwise_plan_driven = r.elementwise_plan_driven;
  step.elementwise = r.elementwise;
  step.differs = r.differ_count;
  if (steps_.size() < kMaxSteps) steps_.push_back(step);
}

// The segment's cost as the group runs it: each op's share of the work, and
// the bytes it pulls (a split op's outputs stay on the members that computed
// them; an op that reads them gets what it lacks, group_state.h).
SegmentPlanner::AsRun SegmentPlanner::asRun(const Entry& e, SegmentRun& run, Placements* carried) const {
  AsRun r;
  r.seconds = calibration_.sync_latency;  // the synchronising call that ends the segment
  const Graph& g = e.graph;
  const int n = e.devices;
  std::vector<GroupSplit> executed;
  {
    std::lock_guard<std::mutex> lock(run.mu);
    executed = run.executed;
  }
  // How a split left a tensor: contiguous shares (columns of a col-major
  // matrix, batch entries, ranges) line up with each other; a grid-stride
  // kernel's shares are interleaved.
  enum Layout { kContiguous = 1, kInterleaved };
  Placements placed = carried ? *carried : Placements{};
  auto key = [&](int t) {
    const planner::Tensor& x = g.tensors[size_t(t)];
    return std::make_tuple(x.alloc, x.offset, x.bytes());
  };
  auto shard = [&](int t) {
    auto it = placed.find(key(t));
    return it == placed.end() ? Shard{} : it->second;
  };
  const planner::Link& link = cluster_.intra_node;
  // Every member needs all of t: each gets the shares it lacks, at once.
  auto whole = [&](int t, double* secs) {
    Shard s = shard(t);
    if (s.ways < 2) return;
    double b = double(g.tensors[size_t(t)].bytes());
    *secs += planner::allGatherSeconds(b, n, link);
    r.bytes_moved += int64_t(b * (n - 1));
    placed.erase(key(t));
  };
  // Each of `ways` members needs its share of t in `layout`: free when t was
  // split the same way; else the part of its share other members computed.
  auto share = [&](int t, int ways, int layout, double* secs) {
    Shard s = shard(t);
    if (s.ways < 2 || (s.ways == ways && s.layout == layout)) return;
    double b = double(g.tensors[size_t(t)].bytes());
    double lacks = b / ways * (s.ways - 1) / s.ways;  // per member
    *secs += link.latency + lacks / std::max(link.bandwidth, 1.0);
    r.bytes_moved += int64_t(lacks * ways);
  };
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    GroupSplit split{1, false};
    if (i < executed.size() && executed[i].ways > 0)
      split = executed[i];
    else if (i < run.decided.size() && run.decided[i].ways > 0)
      split = run.decided[i];
    int ways = split.ways;
    if (op.kind != OpKind::Gemm && op.kind != OpKind::Elementwise) ways = 1;
    double t = 0;
    const double flops = op.totalFlops();
    if (ways > 1 && op.kind == OpKind::Elementwise) {
      // Split by ranges (a kernel by blocks, kernel_footprint.h); a kernel's
      // FLOPs are its measured element rate.
      int layout = i < run.interleaved.size() && run.interleaved[i] ? kInterleaved : kContiguous;
      int64_t out_bytes = g.tensors[size_t(op.writes[0])].bytes();
      for (int x : op.reads)
        if (g.tensors[size_t(x)].bytes() == out_bytes)
          share(x, ways, layout, &t);
        else
          whole(x, &t);
      t += model_.computeSeconds(op, opDtype(g, op), flops / ways, double(g.opBytes(op)) / ways);
      for (int w : op.writes) placed[key(w)] = Shard{ways, layout};
      r.strategy.push_back("split dim 0");
    } else if (ways > 1 && split.by_k) {
      // Slices of K, then a ring reduce-scatter of the partial sums: D ends
      // in column chunks, as a column split leaves it. A slice of K is
      // contiguous in a col-major operand whose columns run along K (the
      // twin's A transposed, its B not); otherwise a member needs all of it.
      const double part = 1.0 / ways;
      const int a = op.reads[0], b = op.reads[1], d = op.writes[0];
      if (op.gemm.trans_a)
        share(a, ways, kContiguous, &t);
      else
        whole(a, &t);
      if (!op.gemm.trans_b)
        share(b, ways, kContiguous, &t);
      else
        whole(b, &t);
      const double d_bytes = double(g.tensors[size_t(d)].bytes());
      if (op.reads.size() > 2 && shard(op.reads[2]).ways > 1) {
        // Member 0 alone adds beta C: it gathers C.
        double lacks = double(g.tensors[size_t(op.reads[2])].bytes()) * (shard(op.reads[2]).ways - 1) / shard(op.reads[2]).ways;
        t += planner::pointToPointSeconds(lacks, link);
        r.bytes_moved += int64_t(lacks);
      }
      double bytes = part * double(g.tensors[size_t(a)].bytes() + g.tensors[size_t(b)].bytes()) + d_bytes;
      t += model_.computeSeconds(op, opDtype(g, op), flops * part, bytes);
      t += planner::reduceScatterSeconds(d_bytes, ways, link);
      r.bytes_moved += int64_t(d_bytes * (ways - 1));
      placed[key(d)] = Shard{ways, kContiguous};
      r.strategy.push_back(splitName(op, true));
    } else if (ways > 1) {
      // Its columns (the twin's rows) or its batch entries on `ways` members.
      const bool by_batch = op.gemm.batch > 1;
      const int layout = kContiguous;
      const int64_t parts = by_batch ? op.gemm.batch : op.gemm.m;
      const double part = double((parts + ways - 1) / ways) / double(parts);
      double bytes = (by_batch ? part : 1.0) * double(g.tensors[op.reads[1]].bytes()) +
                     part * double(g.tensors[op.reads[0]].bytes() + g.tensors[op.writes[0]].bytes());
      if (op.reads.size() > 2) bytes += part * double(g.tensors[op.reads[2]].bytes());
      if (op.gemm.trans_a && !by_batch)
        whole(op.reads[0], &t);  // a member's columns of op(B) are rows of B: all of it
      else
        share(op.reads[0], ways, layout, &t);
      if (by_batch)
        share(op.reads[1], ways, layout, &t);
      else
        whole(op.reads[1], &t);
      if (op.reads.size() > 2) share(op.reads[2], ways, layout, &t);
      t += model_.computeSeconds(op, opDtype(g, op), flops * part, bytes);
      placed[key(op.writes[0])] = Shard{ways, layout};
      r.strategy.push_back(splitName(op));
    } else {
      double bytes = double(g.opBytes(op));
      t = model_.computeSeconds(op, opDtype(g, op), flops, bytes);
      bool host_in = op.kind == OpKind::Copy && op.reads.empty(), host_out = op.kind == OpKind::Copy && op.writes.empty();
      if (host_in || host_out) {
        // Host copies: written to every member in turn, read from member 0
        // once it has the bytes.
        int x = host_in ? op.writes[0] : op.reads[0];
        double b = double(g.tensors[size_t(x)].bytes());
        int times = host_in ? n : 1;
        t = times * model_.hostTransfer(b);
        if (host_out && shard(x).ways > 1) {
          double lacks = b * (shard(x).ways - 1) / shard(x).ways;
          t += planner::pointToPointSeconds(lacks, link);
          r.bytes_moved += int64_t(lacks);
        }
        if (host_in) placed.erase(key(x));
      } else if (op.kind == OpKind::Copy) {
        // Every member copies its own bytes: the copy is placed as its source.
        if (n > 1) t *= n;
        Shard s = shard(op.reads[0]);
        if (s.ways > 1)
          placed[key(op.writes[0])] = s;
        else
          placed.erase(key(op.writes[0]));
      } else if (op.kind == OpKind::Memset) {
        if (n > 1) t *= n;
        placed.erase(key(op.writes[0]));
      } else {
        // Whole on every member: what it reads current everywhere first
        // (what an opaque op reads is unknown: everything).
        double pulls = 0;
        if (op.kind == OpKind::Opaque) {
          std::vector<int> all;
          for (size_t x = 0; x < g.tensors.size(); ++x)
            if (shard(int(x)).ways > 1) all.push_back(int(x));
          for (int x : all) whole(x, &pulls);
          placed.clear();
        }
        for (int x : op.reads) whole(x, &pulls);
        for (int x : op.writes) whole(x, &pulls);
        t += pulls;
      }
      r.strategy.push_back(n > 1 && !host_out ? "replicate" : "whole");
    }
    r.ways.push_back(ways);
    r.op_seconds.push_back(t);
    r.seconds += t;
    bool differs = false;
    if (e.planned) {
      const planner::OpAssignment& a = e.plan.ops[i];
      differs = !sameChoice(a.strategy, a.ways, r.strategy.back(), ways);
    }
    r.differs.push_back(differs);
    r.differ_count += differs;
    if (op.kind == OpKind::Gemm) {
      ++r.gemms;
      if (i < run.decided_by.size() && run.decided_by[i] == "plan") ++r.plan_driven;
    } else if (op.kind == OpKind::Elementwise) {
      ++r.elementwise;
      if (i < run.decided_by.size() && run.decided_by[i] == "plan") ++r.elementwise_plan_driven;
    }
  }
  if (carried) *carried = std::move(placed);
  return r;
}

size_t SegmentPlanner::heaviestEntry() const {
  size_t best = 0;
  for (size_t i = 1; i < entries_.size(); ++i)
    if (entries_[i]->measured_total > entries_[best]->measured_total) best = i;
  return best;
}

void SegmentPlanner::report(std::ostream& out) {
  std::lock_guard<std::mutex> lock(mu_);
  char line[320];
  out << "moai plan report: " << opt_.devices << " device" << (opt_.devices == 1 ? "" : "s") << "; "
      << describeCalibration(calibration_) << "\n";
  if (entries_.empty()) {
    out << "  no segment recorded\n";
    return;
  }
  const size_t hi = heaviestEntry();
  Entry& e = *entries_[hi];
  std::snprintf(line, sizeof line, "  %zu segments, %zu distinct graphs; plan cache %llu hits, %llu misses\n",
                steps_.size(), entries_.size(), static_cast<unsigned long long>(cache_.hits()),
                static_cast<unsigned long long>(cache_.misses()));
  out << line;
  std::snprintf(line, sizeof line, "  heaviest graph %s: %zu ops, ran %d times, %s in all\n", hex(e.key).c_str(),
                e.graph.ops.size(), e.runs, planner::formatSeconds(e.measured_total).c_str());
  out << line;
  if (!e.planned) {
    out << "  not planned: " << e.not_planned << "\n";
  } else if (e.last) {
    AsRun r = asRun(e, *e.last, nullptr);
    // Per op (runs of alike ops folded): planned split, what ran, devices.
    out << "  op          kind         name                 planned         ran                devices  predicted\n";
    size_t i = 0;
    int lines = 0;
    while (i < e.graph.ops.size()) {
      size_t j = i;
      auto key = [&](size_t k) {
        return std::make_tuple(e.graph.ops[k].kind, e.graph.ops[k].name, e.plan.ops[k].strategy, r.strategy[k], r.ways[k]);
      };
      double t = 0;
      while (j < e.graph.ops.size() && key(j) == key(i)) t += r.op_seconds[j++];
      if (lines++ == 16) {
        out << "  ... more ops (the JSON has every op)\n";
        break;
      }
      const Op& op = e.graph.ops[i];
      std::string ids = j - i == 1 ? std::to_string(i) : std::to_string(i) + "-" + std::to_string(j - 1);
      std::string ran = r.strategy[i] + (r.ways[i] > 1 ? " x" + std::to_string(r.ways[i]) : "");
      std::string devs = r.ways[i] > 1                                 ? "0-" + std::to_string(r.ways[i] - 1)
                         : r.strategy[i] == "replicate" ? "all" : "0";
      std::snprintf(line, sizeof line, "  %-11s %-12s %-20.20s %-15.15s %-18.18s %-8s %s%s\n", ids.c_str(),
                    planner::opKindName(op.kind), op.name.c_str(), e.plan.ops[i].strategy.c_str(), ran.c_str(),
                    devs.c_str(), planner::formatSeconds(t).c_str(), r.differs[i] ? "  (differs from plan)" : "");
      out << line;
      i = j;
    }
    if (e.unconstrained_seconds > 0)
      out << "  with sharded tensors (every strategy, not runnable by this device group) the planner predicts "
          << planner::formatSeconds(e.unconstrained_seconds) << "\n";
    std::snprintf(line, sizeof line,
                  "  plan: predicted %s (compute %s, comm %s), moves %s; as run: predicted %s, moves %s; "
                  "%d of %d GEMM and %d of %d element-wise splits from the plan, %d ops ran otherwise than planned\n",
                  planner::formatSeconds(e.plan.step_seconds).c_str(), planner::formatSeconds(e.plan.compute_seconds).c_str(),
                  planner::formatSeconds(e.plan.comm_seconds).c_str(), planner::formatBytes(double(e.plan.bytes_moved)).c_str(),
                  planner::formatSeconds(r.seconds).c_str(), planner::formatBytes(double(r.bytes_moved)).c_str(), r.plan_driven, r.gemms,
                  r.elementwise_plan_driven, r.elementwise, r.differ_count);
    out << line;
  }
  // Per step of the heaviest graph: predicted (as run) against measured.
  out << "  step  predicted   measured    error    moved       (measured)  planning    cache  GEMMs from plan\n";
  int shown = 0, of = 0;
  double first_plan = -1, cached_sum = 0;
  int cached_n = 0;
  double err_sum = 0;
  int err_n = 0;
  for (const Step& s : steps_) {
    if (s.entry != &e) continue;
    ++of;
    if (!s.hit && first_plan < 0) first_plan = s.planning;
    if (s.hit) cached_sum += s.planning, ++cached_n;
    double err = s.measured > 0 ? (s.predicted - s.measured) / s.measured * 100 : 0;
    if (s.measured > 0 && s.plan_driven == s.gemms && s.gemms > 0) err_sum += std::abs(err), ++err_n;
    if (shown++ < 8) {
      std::snprintf(line, sizeof line, "  %-5d %-11s %-11s %+6.1f%%  %-11s %-11s %-11s %-6s %d/%d\n", of,
                    planner::formatSeconds(s.predicted).c_str(), planner::formatSeconds(s.measured).c_str(), err,
                    planner::formatBytes(double(s.bytes_moved)).c_str(),
                    s.moved_measured < 0 ? "-" : planner::formatBytes(double(s.moved_measured)).c_str(),
                    planner::formatSeconds(s.planning).c_str(), s.hit ? "hit" : "miss",
                    s.plan_driven, s.gemms);
      out << line;
    }
  }
  if (shown > 8) out << "  ... " << shown - 8 << " more steps of this graph\n";
  std::snprintf(line, sizeof line, "  planning: first step %s, cached step %s (mean of %d)", planner::formatSeconds(first_plan).c_str(),
                planner::formatSeconds(cached_n ? cached_sum / cached_n : -1).c_str(), cached_n);
  out << line;
  if (err_n) std::snprintf(line, sizeof line, "; |predicted - measured| %.1f%% on plan-driven steps\n", err_sum / err_n),
             out << line;
  else
    out << "\n";
}

std::string SegmentPlanner::json() {
  using nlohmann::json;
  std::lock_guard<std::mutex> lock(mu_);
  const Calibration& c = calibration_;
  json j;
  j["devices"] = opt_.devices;
  j["calibration"] = {{"gemm_flops", c.gemm_flops},
                      {"gemm_size", c.gemm_size},
                      {"memory_bandwidth", c.memory_bandwidth},
                      {"op_overhead_s", c.op_overhead},
                      {"kernel_rate", c.kernel_rate},
                      {"sync_latency_s", c.sync_latency},
                      {"link", {{"latency_s", c.link.latency}, {"bandwidth", c.link.bandwidth}}},
                      {"host_link", {{"latency_s", c.host_link.latency}, {"bandwidth", c.host_link.bandwidth}}},
                      {"seconds", c.seconds},
                      {"error", c.error}};
  json segs = json::array();
  std::map<const Entry*, size_t> index;
  for (auto& e : entries_) {
    index[e.get()] = segs.size();
    json s = {{"key", hex(e->key)}, {"ops", e->graph.ops.size()}, {"runs", e->runs}, {"measured_total_s", e->measured_total},
              {"unconstrained_step_s", e->unconstrained_seconds}};
    if (!e->planned) {
      s["not_planned"] = e->not_planned;
    } else {
      s["plan"] = json::parse(planner::planToJson(e->plan, e->graph));
      if (e->last) {
        AsRun r = asRun(*e, *e->last, nullptr);
        json ran = json::array();
        for (size_t i = 0; i < e->graph.ops.size(); ++i)
          ran.push_back({{"op", i},
                         {"planned", e->plan.ops[i].strategy},
                         {"planned_devices", e->plan.ops[i].ways},
                         {"ran", r.strategy[i]},
                         {"devices", r.ways[i]},
                         {"decided_by", i < e->last->decided_by.size() ? e->last->decided_by[i] : ""},
                         {"differs", bool(r.differs[i])},
                         {"predicted_s", r.op_seconds[i]}});
        s["as_run"] = ran;
      }
    }
    segs.push_back(std::move(s));
  }
  json steps = json::array();
  for (const Step& s : steps_)
    steps.push_back({{"segment", index[s.entry]},
                     {"predicted_s", s.predicted},
                     {"predicted_plan_s", s.predicted_plan},
                     {"measured_s", s.measured},
                     {"bytes_moved", s.bytes_moved},
                     {"member_bytes_measured", s.moved_measured},
                     {"planning_s", s.planning},
                     {"cache_hit", s.hit},
                     {"gemms", s.gemms},
                     {"gemm_splits_from_plan", s.plan_driven},
                     {"elementwise", s.elementwise},
                     {"elementwise_splits_from_plan", s.elementwise_plan_driven},
                     {"ops_differing_from_plan", s.differs}});
  j["segments"] = std::move(segs);
  j["steps"] = std::move(steps);
  j["plan_cache"] = {{"hits", cache_.hits()}, {"misses", cache_.misses()}};
  return j.dump(1);
}

void SegmentPlanner::finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    endSegmentLocked(false);  // work after the last synchronising call: not measured
  }
  if (!opt_.report) return;
  std::ostringstream text;
  report(text);
  std::cerr << text.str() << std::flush;
  if (opt_.json_path.empty()) return;
  std::ofstream out(opt_.json_path, std::ios::trunc);
  out << json() << "\n";
  if (!out) log().error("MOAI_PLAN_REPORT: cannot write {}", opt_.json_path);
}

}  // namespace moai
