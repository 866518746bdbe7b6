#include "planner/transformer.h"

#include <map>

namespace moai::planner {

double GptConfig::parameters() const {
  double l = layers, h = hidden;
  return 12 * l * h * h * (1 + 13 / (12 * h) + double(vocab + seq) / (12 * l * h));
}

double GptConfig::megatronFlops() const {
  double B = global_batch, s = seq, l = layers, h = hidden, V = vocab;
  return 96 * B * s * l * h * h * (1 + s / (6 * h) + V / (16 * l * h));
}

double GptConfig::modelFlops() const {
  double B = global_batch, s = seq, l = layers, h = hidden, V = vocab;
  return 72 * B * s * l * h * h * (1 + s / (6 * h) + V / (12 * l * h));
}

namespace {

struct Preset {
  const char* name;
  int layers, hidden, heads, global_batch;
};
// Megatron-LM weak-scaling models (Narayanan et al., SC'21, Table 1) and GPT-3.
const Preset kPresets[] = {
    {"gpt3-175b", 96, 12288, 96, 1536},     {"megatron-18b", 40, 6144, 48, 1024},
    {"megatron-39b", 48, 8192, 64, 1536},   {"megatron-76b", 60, 10240, 80, 1792},
    {"megatron-145b", 80, 12288, 96, 2304}, {"megatron-310b", 96, 16384, 128, 2160},
    {"megatron-530b", 105, 20480, 128, 2520}, {"megatron-1t", 128, 25600, 160, 3072},
};

// Emits ops for a forward pass and, on the way back, their gradients.
class Builder {
 public:
  Builder(Graph* g, modnn_dtype dt) : g_(g), dt_(dt) {}

  int tensor(std::vector<int64_t> shape, const std::string& name, modnn_dtype dt) {
    return g_->addTensor(dt, std::move(shape), name);
  }
  int act(std::vector<int64_t> shape, const std::string& name) { return tensor(std::move(shape), name, dt_); }

  void gemm(const std::string& name, int a, int b, int d, int64_t m, int64_t n, int64_t k, int64_t batch = 1,
            bool trans_a = false, bool trans_b = false) {
    Op op;
    op.kind = OpKind::Gemm;
    op.name = name;
    op.gemm = {m, n, k, batch, trans_a, trans_b};
    op.reads = {a, b};
    op.writes = {d};
    g_->addOp(std::move(op));
  }
  void elementwise(const std::string& name, std::vector<int> reads, std::vector<int> writes, double flops_per_elem,
                   int coupled = -1) {
    Op op;
    op.kind = OpKind::Elementwise;
    op.name = name;
    op.coupled_dim = coupled;
    op.flops = flops_per_elem * double(g_->tensors[writes[0]].elements());
    op.reads = std::move(reads);
    op.writes = std::move(writes);
    g_->addOp(std::move(op));
  }
  void reduction(const std::string& name, int in, int out, int dim) {
    Op op;
    op.kind = OpKind::Reduction;
    op.name = name;
    op.reduce_dim = dim;
    op.flops = double(g_->tensors[in].elements());
    op.reads = {in};
    op.writes = {out};
    g_->addOp(std::move(op));
  }
  void opaque(const std::string& name, std::vector<int> reads, std::vector<int> writes) {
    Op op;
    op.kind = OpKind::Opaque;
    op.name = name;
    op.reads = std::move(reads);
    op.writes = std::move(writes);
    g_->addOp(std::move(op));
  }
  // Sums a new gradient contribution into the tensor's gradient.
  void addGrad(int t, int contribution) {
    auto it = grad_.find(t);
    if (it == grad_.end()) {
      grad_[t] = contribution;
      return;
    }
    int sum = act(g_->tensors[t].shape, "d" + g_->tensors[t].name);
    elementwise("grad_add", {it->second, contribution}, {sum}, 1);
    it->second = sum;
  }
  int grad(int t) const { return grad_.at(t); }
  bool hasGrad(int t) const { return grad_.count(t) != 0; }
  Graph& g() { return *g_; }

 private:
  Graph* g_;
  modnn_dtype dt_;
  std::map<int, int> grad_;
};

struct Layer {
  int ln1_g, ln1_b, wqkv, wo, ln2_g, ln2_b, w1, w2;  // parameters
};

// Forward of one layer: returns its output; `saved` collects what backward reads.
struct LayerActs {
  int x, y1, qkv, q, k, v, sc, p, pd, ctx, ctx2, o, x2, y2, f1, gl, o2, x3;
};

LayerActs layerForward(Builder& b, const Layer& w, int x, int64_t T, int64_t h, int64_t bsz, int64_t s, int64_t ah,
                       int64_t dh, int64_t ffn, const std::string& pfx) {
  LayerActs a{};
  a.x = x;
  a.y1 = b.act({T, h}, pfx + "ln1");
  b.elementwise(pfx + "layernorm1", {x, w.ln1_g, w.ln1_b}, {a.y1}, 8, 1);
  a.qkv = b.act({T, 3 * ah * dh}, pfx + "qkv");
  b.gemm(pfx + "qkv", a.y1, w.wqkv, a.qkv, T, 3 * ah * dh, h);
  a.q = b.act({bsz * ah, s, dh}, pfx + "q");
  a.k = b.act({bsz * ah, dh, s}, pfx + "kT");
  a.v = b.act({bsz * ah, s, dh}, pfx + "v");
  b.elementwise(pfx + "split_heads", {a.qkv}, {a.q, a.k, a.v}, 0);
  a.sc = b.act({bsz * ah, s, s}, pfx + "scores");
  b.gemm(pfx + "scores", a.q, a.k, a.sc, s, s, dh, bsz * ah);
  a.p = b.act({bsz * ah, s, s}, pfx + "probs");
  b.elementwise(pfx + "scale_mask_softmax", {a.sc}, {a.p}, 5, 2);
  a.pd = b.act({bsz * ah, s, s}, pfx + "probs_dropout");
  b.elementwise(pfx + "attn_dropout", {a.p}, {a.pd}, 2);
  a.ctx = b.act({bsz * ah, s, dh}, pfx + "ctx");
  b.gemm(pfx + "context", a.pd, a.v, a.ctx, s, dh, s, bsz * ah);
  a.ctx2 = b.act({T, ah * dh}, pfx + "ctx_merged");
  b.elementwise(pfx + "merge_heads", {a.ctx}, {a.ctx2}, 0);
  a.o = b.act({T, h}, pfx + "attn_out");
  b.gemm(pfx + "attn_proj", a.ctx2, w.wo, a.o, T, h, ah * dh);
  a.x2 = b.act({T, h}, pfx + "resid1");
  b.elementwise(pfx + "dropout_residual1", {a.o, x}, {a.x2}, 3);
  a.y2 = b.act({T, h}, pfx + "ln2");
  b.elementwise(pfx + "layernorm2", {a.x2, w.ln2_g, w.ln2_b}, {a.y2}, 8, 1);
  a.f1 = b.act({T, ffn}, pfx + "fc1");
  b.gemm(pfx + "fc1", a.y2, w.w1, a.f1, T, ffn, h);
  a.gl = b.act({T, ffn}, pfx + "gelu");
  b.elementwise(pfx + "gelu", {a.f1}, {a.gl}, 10);
  a.o2 = b.act({T, h}, pfx + "fc2");
  b.gemm(pfx + "fc2", a.gl, w.w2, a.o2, T, h, ffn);
  a.x3 = b.act({T, h}, pfx + "resid2");
  b.elementwise(pfx + "dropout_residual2", {a.o2, a.x2}, {a.x3}, 3);
  return a;
}

// dA = dC B^T and dB = A^T dC for C = A B.
void gemmBackward(Builder& b, const std::string& name, int a, int w, int c, int64_t m, int64_t n, int64_t k,
                  int64_t batch, bool weight) {
  int dc = b.grad(c);
  int da = b.act(b.g().tensors[a].shape, "d" + b.g().tensors[a].name);
  b.gemm(name + "_dgrad", dc, w, da, m, k, n, batch, false, true);
  b.addGrad(a, da);
  int dw = b.tensor(b.g().tensors[w].shape, "d" + b.g().tensors[w].name, b.g().tensors[w].dtype);
  b.gemm(name + (weight ? "_wgrad" : "_dgrad2"), a, dc, dw, k, n, m, batch, true, false);
  b.addGrad(w, dw);
}

// Backward of an element-wise op: reads the output gradient and the inputs,
// writes the input gradients (parameters' gradients by a reduction over tokens).
void elementwiseBackward(Builder& b, const std::string& name, std::vector<int> ins, int out, double flops,
                         int coupled = -1, std::vector<int> params = {}) {
  std::vector<int> reads{b.grad(out)};
  reads.insert(reads.end(), ins.begin(), ins.end());
  std::vector<int> writes;
  for (int t : ins) writes.push_back(b.act(b.g().tensors[t].shape, "d" + b.g().tensors[t].name));
  // The output-shaped gradient first: the op's sharding follows it.
  b.elementwise(name + "_bwd", reads, writes, flops, coupled);
  for (size_t i = 0; i < ins.size(); ++i) b.addGrad(ins[i], writes[i]);
  for (int p : params) {
    int dp = b.tensor(b.g().tensors[p].shape, "d" + b.g().tensors[p].name, b.g().tensors[p].dtype);
    b.reduction(name + "_param_grad", b.grad(out), dp, 0);
    b.addGrad(p, dp);
  }
}

}  // namespace

bool gptPreset(const std::string& name, GptConfig* out_config) {
  if (name == "gpt-small") {  // a model the tests plan op by op in well under a second
    *out_config = GptConfig{name, 4, 1024, 16, 1024, 51200, 32, 4, MODNN_BF16, true};
    return true;
  }
  for (const Preset& p : kPresets)
    if (name == p.name) {
      *out_config = GptConfig{name, p.layers, p.hidden, p.heads, 2048, 51200, p.global_batch, 1, MODNN_BF16, true};
      return true;
    }
  return false;
}

std::vector<std::string> gptPresetNames() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.push_back(p.name);
  names.push_back("gpt-small");
  return names;
}

Graph gptTrainingStep(const GptConfig& c, const GptGraphOptions& o) {
  Graph g;
  Builder b(&g, c.dtype);
  const int64_t bsz = c.micro_batch, s = c.seq, h = c.hidden, T = bsz * s;
  const int64_t ah = c.heads / o.tp, dh = c.hidden / c.heads, ffn = 4 * h / o.tp;
  const int L = o.layers < 0 ? c.layers : o.layers;

  std::vector<Layer> params(L);
  std::vector<int> all_params;
  for (int l = 0; l < L; ++l) {
    std::string p = "l" + std::to_string(l) + ".";
    Layer& w = params[l];
    w.ln1_g = b.act({h}, p + "ln1_gamma"), w.ln1_b = b.act({h}, p + "ln1_beta");
    w.wqkv = b.act({h, 3 * ah * dh}, p + "w_qkv");
    w.wo = b.act({ah * dh, h}, p + "w_o");
    w.ln2_g = b.act({h}, p + "ln2_gamma"), w.ln2_b = b.act({h}, p + "ln2_beta");
    w.w1 = b.act({h, ffn}, p + "w_fc1");
    w.w2 = b.act({ffn, h}, p + "w_fc2");
    all_params.insert(all_params.end(), {w.ln1_g, w.ln1_b, w.wqkv, w.wo, w.ln2_g, w.ln2_b, w.w1, w.w2});
  }
  int ids = -1, labels = -1, table = -1, wout = -1;
  int x = b.act({T, h}, "x_in");
  if (o.embedding) {
    ids = b.tensor({T, 1}, "token_ids", MODNN_I32);
    labels = b.tensor({T, 1}, "labels", MODNN_I32);
    table = b.act({c.vocab, h}, "embedding");
    wout = b.act({h, c.vocab}, "w_logits");
    all_params.push_back(table);
    all_params.push_back(wout);
    // A gather by token id: no affine access pattern, so it runs whole.
    b.opaque("embedding_lookup", {ids, table}, {x});
  }
  std::vector<LayerActs> acts;
  for (int l = 0; l < L; ++l) {
    acts.push_back(layerForward(b, params[l], x, T, h, bsz, s, ah, dh, ffn, "l" + std::to_string(l) + "."));
    x = acts.back().x3;
  }
  int logits = -1, dlogits = -1;
  if (o.embedding) {
    logits = b.act({T, c.vocab}, "logits");
    b.gemm("logits", x, wout, logits, T, c.vocab, h);
    dlogits = b.act({T, c.vocab}, "dlogits");
    int losses = b.tensor({T, 1}, "token_loss", MODNN_F32);
    b.elementwise("softmax_cross_entropy", {logits, labels}, {dlogits, losses}, 6, 1);
    int loss = b.tensor({1, 1}, "loss", MODNN_F32);
    b.reduction("loss_sum", losses, loss, 0);
  }
  if (!o.backward) return g;

  if (o.embedding) {
    b.addGrad(logits, dlogits);
    gemmBackward(b, "logits", x, wout, logits, T, c.vocab, h, 1, true);
  } else {
    int dx = b.act({T, h}, "d_out");
    b.elementwise("grad_in", {x}, {dx}, 0);
    b.addGrad(x, dx);
  }
  for (int l = L - 1; l >= 0; --l) {
    const std::string p = "l" + std::to_string(l) + ".";
    LayerActs a = acts[l];
    if (c.recompute) {  // the stored input is all that survived the forward pass
      int out_grad = b.grad(a.x3);
      a = layerForward(b, params[l], a.x, T, h, bsz, s, ah, dh, ffn, p + "recompute.");
      b.addGrad(a.x3, out_grad);
    }
    const Layer& w = params[l];
    elementwiseBackward(b, p + "dropout_residual2", {a.o2, a.x2}, a.x3, 3);
    gemmBackward(b, p + "fc2", a.gl, w.w2, a.o2, T, h, ffn, 1, true);
    elementwiseBackward(b, p + "gelu", {a.f1}, a.gl, 12);
    gemmBackward(b, p + "fc1", a.y2, w.w1, a.f1, T, ffn, h, 1, true);
    elementwiseBackward(b, p + "layernorm2", {a.x2}, a.y2, 12, 1, {w.ln2_g, w.ln2_b});
    elementwiseBackward(b, p + "dropout_residual1", {a.o, a.x}, a.x2, 3);
    gemmBackward(b, p + "attn_proj", a.ctx2, w.wo, a.o, T, h, ah * dh, 1, true);
    elementwiseBackward(b, p + "merge_heads", {a.ctx}, a.ctx2, 0);
    gemmBackward(b, p + "context", a.pd, a.v, a.ctx, s, dh, s, bsz * ah, false);
    elementwiseBackward(b, p + "attn_dropout", {a.p}, a.pd, 2);
    elementwiseBackward(b, p + "scale_mask_softmax", {a.sc}, a.p, 6, 2);
    gemmBackward(b, p + "scores", a.q, a.k, a.sc, s, s, dh, bsz * ah, false);
    // split_heads' backward gathers three gradients into one.
    int dqkv = b.act({T, 3 * ah * dh}, "d" + g.tensors[a.qkv].name);
    b.elementwise(p + "split_heads_bwd", {b.grad(a.q), b.grad(a.k), b.grad(a.v)}, {dqkv}, 0);
    b.addGrad(a.qkv, dqkv);
    gemmBackward(b, p + "qkv", a.y1, w.wqkv, a.qkv, T, 3 * ah * dh, h, 1, true);
    elementwiseBackward(b, p + "layernorm1", {a.x}, a.y1, 12, 1, {w.ln1_g, w.ln1_b});
  }
  if (o.embedding) {
    int dtable = b.act({c.vocab, h}, "dembedding");
    b.opaque("embedding_backward", {ids, b.grad(acts.empty() ? x : acts[0].x)}, {dtable});
    b.addGrad(table, dtable);
  }

  if (!o.optimizer) return g;
  // Adam with f32 master weights and moments: state the next step reads.
  for (int p : all_params) {
    if (!b.hasGrad(p)) continue;
    const std::vector<int64_t>& shape = g.tensors[p].shape;
    int master = b.tensor(shape, g.tensors[p].name + ".master", MODNN_F32);
    int m1 = b.tensor(shape, g.tensors[p].name + ".adam_m", MODNN_F32);
    int m2 = b.tensor(shape, g.tensors[p].name + ".adam_v", MODNN_F32);
    b.elementwise("adam", {b.grad(p), master, m1, m2}, {p, master, m1, m2}, 12);
  }
  return g;
}

}  // namespace moai::planner
