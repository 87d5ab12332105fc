"""Small complete programs the rules' examples are made from.

Each rule example is one of these programs with a line swapped; a trailing ``# bug`` marks
every line the rule must report.
"""

LSTM_PREPENDED = """\
import numpy as np


def sigmoid(x, derivative=False):
    s = 1 / (1 + np.exp(-x))
    return s * (1 - s) if derivative else s


def softmax(v):
    e = np.exp(v - np.max(v))
    return e / np.sum(e)


def forward(inputs, h, c, p):
    Wf, Wi, Wg, Wo, Wy, bf, bi, bg, bo, by = p
    hs, cs, zs, fs, is_, gs, os_, ys = [h], [c], [], [], [], [], [], []
    for x in inputs:
        z = np.vstack((h, x))
        f = sigmoid(Wf @ z + bf)
        i = sigmoid(Wi @ z + bi)
        g = np.tanh(Wg @ z + bg)
        c = f * c + i * g
        o = sigmoid(Wo @ z + bo)
        h = o * np.tanh(c)
        zs.append(z); fs.append(f); is_.append(i); gs.append(g)
        cs.append(c); os_.append(o); hs.append(h)
        ys.append(softmax(Wy @ h + by))
    return zs, fs, is_, gs, cs, os_, hs, ys


def backward(zs, f, i, g, C, o, h, ys, targets, p):
    Wf, Wi, Wg, Wo, Wy, bf, bi, bg, bo, by = p
    grads = [np.zeros_like(w) for w in p]
    dWf, dWi, dWg, dWo, dWy, dbf, dbi, dbg, dbo, dby = grads
    dh_next = np.zeros_like(h[-1])
    dC_next = np.zeros_like(C[-1])
    loss = 0.0
    for t in reversed(range(len(ys))):
        loss += -np.sum(targets[t] * np.log(ys[t] + 1e-12))
        dy = ys[t] - targets[t]
        dWy += dy @ h[t + 1].T
        dby += dy
        dh = Wy.T @ dy + dh_next
        do = dh * np.tanh(C[t + 1]) * o[t] * (1 - o[t])
        dC = dC_next + dh * o[t] * (1 - np.tanh(C[t + 1]) ** 2)
        C_prev = C[t]
        df = dC * C_prev
        df = df * f[t] * (1 - f[t])
        di = dC * g[t]
        di = di * i[t] * (1 - i[t])
        dg = dC * i[t]
        dg = dg * (1 - g[t] ** 2)
        dWf += df @ zs[t].T
        dWi += di @ zs[t].T
        dWg += dg @ zs[t].T
        dWo += do @ zs[t].T
        dbf += df
        dbi += di
        dbg += dg
        dbo += do
        dz = Wf.T @ df + Wi.T @ di + Wg.T @ dg + Wo.T @ do
        dh_next = dz[: h[0].shape[0]]
        dC_next = dC * f[t]
    return loss, grads


def loss_and_grads(inputs, targets, h0, c0, p):
    zs, fs, is_, gs, cs, os_, hs, ys = forward(inputs, h0, c0, p)
    return backward(zs, fs, is_, gs, cs, os_, hs, ys, targets, p)
"""

MINCHAR_RNN = """\
import numpy as np


def loss_fun(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    for t in range(len(inputs)):
        xs[t] = np.zeros((Wxh.shape[1], 1))
        xs[t][inputs[t]] = 1
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        ys[t] = Why @ hs[t] + by
        ps[t] = np.exp(ys[t] - np.max(ys[t])) / np.sum(np.exp(ys[t] - np.max(ys[t])))
        loss += -np.log(ps[t][targets[t], 0] + 1e-12)
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(ps[t])
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + dhnext
        dhraw = (1 - hs[t] * hs[t]) * dh
        dbh += dhraw
        dWxh += dhraw @ xs[t].T
        dWhh += dhraw @ hs[t - 1].T
        dhnext = Whh.T @ dhraw
    for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
        np.clip(dparam, -5, 5, out=dparam)
    return loss, dWxh, dWhh, dWhy, dbh, dby, hs[len(inputs) - 1]
"""

CS231N_STEP = """\
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i = sigmoid(a[:, :H])
    f = sigmoid(a[:, H:2 * H])
    o = sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    cache = (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)
    return next_h, next_c, cache


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
    do = dnext_h * np.tanh(next_c)
    dc = dnext_c + dnext_h * o * (1 - np.tanh(next_c) ** 2)
    df = dc * prev_c
    di = dc * g
    dg = dc * i
    dprev_c = dc * f
    da = np.hstack((di * i * (1 - i), df * f * (1 - f), do * o * (1 - o), dg * (1 - g ** 2)))
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db
"""


# a course notebook's RNN cell: weights in a `parameters` dict, a cache per step, test
# values built at the top level
NOTEBOOK_CELLS = """
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def rnn_cell_forward(xt, a_prev, parameters):
    Wax, Waa, ba = parameters["Wax"], parameters["Waa"], parameters["ba"]
    a_next = np.tanh(Wax @ xt + Waa @ a_prev + ba)
    cache = (a_next, a_prev, xt, parameters)
    return a_next, cache


def rnn_forward(x, a0, parameters):
    n_x, m, T_x = x.shape
    a = np.zeros((a0.shape[0], m, T_x))
    a_next = a0
    caches = []
    for t in range(T_x):
        a_next, cache = rnn_cell_forward(x[:, :, t], a_next, parameters)
        a[:, :, t] = a_next
        caches.append(cache)
    return a, caches


def rnn_cell_backward(da_next, cache):
    (a_next, a_prev, xt, parameters) = cache
    Wax = parameters["Wax"]
    dtanh = (1 - a_next ** 2) * da_next
    dxt = Wax.T @ dtanh
    dWax = dtanh @ xt.T
    da_prev = parameters["Waa"].T @ dtanh
    dWaa = dtanh @ a_prev.T
    dba = np.sum(dtanh, axis=1, keepdims=True)
    return {"dxt": dxt, "da_prev": da_prev, "dWax": dWax, "dWaa": dWaa, "dba": dba}


np.random.seed(1)
xt = np.random.randn(3, 10)
a_prev = np.random.randn(5, 10)
Wax = np.random.randn(5, 3)
Waa = np.random.randn(5, 5)
ba = np.random.randn(5, 1)
parameters = {"Wax": Wax, "Waa": Waa, "ba": ba}
a_next, cache = rnn_cell_forward(xt, a_prev, parameters)
gradients = rnn_cell_backward(np.random.randn(5, 10), cache)
"""

# a class that keeps its weights in `self.params`
CLASS_PARAMS = """
import numpy as np


class RNN:
    def __init__(self, params):
        self.params = params

    def forward(self, xs, h0):
        hs, caches = {-1: h0}, []
        for t in range(len(xs)):
            hs[t] = np.tanh(self.params["Wh"] @ hs[t - 1] + self.params["Wx"] @ xs[t])
            caches.append((hs[t], hs[t - 1], xs[t]))
        return hs, caches

    def step_backward(self, dh, cache):
        h, h_prev, x = cache
        dz = (1 - h ** 2) * dh
        dWh = dz @ h_prev.T
        dh_prev = self.params["Wh"].T @ dz
        return dh_prev, dWh


Wh = np.random.randn(4, 4)
Wx = np.random.randn(4, 3)
model = RNN({"Wh": Wh, "Wx": Wx})
"""


def swap(program: str, old: str, new: str) -> str:
    """The program with one line's text replaced (the old text must occur exactly once)."""
    if program.count(old) != 1:
        raise ValueError(f"{old!r} occurs {program.count(old)} times")
    return program.replace(old, new)


# the forward writes each step's update equation inside the append to the history
LSTM_APPENDED_EQUATIONS = swap(
    swap(
        swap(
            LSTM_PREPENDED, "        c = f * c + i * g\n", "        cs.append(f * cs[-1] + i * g)\n"
        ),
        "        h = o * np.tanh(c)\n",
        "        hs.append(o * np.tanh(cs[-1]))\n        h = hs[-1]\n",
    ),
    "        cs.append(c); os_.append(o); hs.append(h)\n",
    "        os_.append(o)\n",
)

_MINCHAR_BACKWARD_LOOP = "    for t in reversed(range(len(inputs))):\n"

# the backward loop counts up and names the step it walks down
MINCHAR_NAMED_STEP = swap(
    MINCHAR_RNN,
    _MINCHAR_BACKWARD_LOOP,
    "    n = len(inputs)\n    for i in range(n):\n        t = n - 1 - i\n",
)


def _indexed_from_end(program: str) -> str:
    """The backward loop counts up and indexes from the end: ``hs[T - i - 1]`` is its step."""
    head, _, tail = program.partition(_MINCHAR_BACKWARD_LOOP)
    body, end, rest = tail.partition("    for dparam")
    body = body.replace("[t - 1]", "[T - i - 2]").replace("[t]", "[T - i - 1]")
    return head + "    T = len(inputs)\n    for i in range(T):\n" + body + end + rest


MINCHAR_FROM_END = _indexed_from_end(MINCHAR_RNN)

# an LSTM class with its activations as methods and its weights in `self.params`
CLASS_LSTM = """\
import numpy as np


class LSTM:
    def __init__(self, params):
        self.params = params

    def sigmoid(self, x):
        return 1 / (1 + np.exp(-x))

    def dtanh(self, y):
        return 1 - y ** 2

    def forward(self, inputs, h, c):
        p = self.params
        self.zs, self.fs, self.is_, self.gs, self.os_ = [], [], [], [], []
        self.hs, self.cs = [h], [c]
        for x in inputs:
            z = np.vstack((h, x))
            f = self.sigmoid(p["Wf"] @ z + p["bf"])
            i = self.sigmoid(p["Wi"] @ z + p["bi"])
            g = np.tanh(p["Wg"] @ z + p["bg"])
            o = self.sigmoid(p["Wo"] @ z + p["bo"])
            c = f * c + i * g
            h = o * np.tanh(c)
            self.zs.append(z); self.fs.append(f); self.is_.append(i); self.gs.append(g)
            self.os_.append(o); self.cs.append(c); self.hs.append(h)
        return h

    def backward(self, dh_last):
        p = self.params
        grads = {k: np.zeros_like(v) for k, v in p.items()}
        dh_next = dh_last
        dc_next = np.zeros_like(self.cs[-1])
        for t in reversed(range(len(self.zs))):
            f, i, g, o = self.fs[t], self.is_[t], self.gs[t], self.os_[t]
            tc = np.tanh(self.cs[t + 1])
            do = dh_next * tc * o * (1 - o)
            dc = dc_next + dh_next * o * self.dtanh(tc)
            df = dc * self.cs[t] * f * (1 - f)
            di = dc * g * i * (1 - i)
            dg = dc * i * self.dtanh(g)
            for name, d in (("f", df), ("i", di), ("g", dg), ("o", do)):
                grads["W" + name] += d @ self.zs[t].T
                grads["b" + name] += d
            dz = p["Wf"].T @ df + p["Wi"].T @ di + p["Wg"].T @ dg + p["Wo"].T @ do
            dh_next = dz[: dh_last.shape[0]]
            dc_next = dc * f
        return grads
"""


# a model object that keeps its gradients beside its weights and sums each step's share
CLASS_ACCUMULATORS = """
import numpy as np


class RNN:
    def __init__(self, n_in, n_hidden):
        self.Wx = np.random.randn(n_hidden, n_in) * 0.1
        self.Wh = np.random.randn(n_hidden, n_hidden) * 0.1
        self.dWx = np.zeros((n_hidden, n_in))
        self.dWh = np.zeros((n_hidden, n_hidden))

    def forward(self, xs, h0):
        self.xs, self.hs = xs, [h0]
        for x in xs:
            self.hs.append(np.tanh(self.Wx @ x + self.Wh @ self.hs[-1]))
        return self.hs[-1]

    def backward(self, dh):
        for t in reversed(range(len(self.xs))):
            dz = (1 - self.hs[t + 1] ** 2) * dh
            self.dWx += dz @ self.xs[t].T
            self.dWh += dz @ self.hs[t].T
            dh = self.Wh.T @ dz
        return dh
"""


# the backward receives the forward's states as arguments, with nothing saying what they hold
STATES_AS_ARGUMENTS = """\
import numpy as np


def forward_pass(inputs, hidden_state, params):
    U, V, W, b_hidden, b_out = params
    outputs, hidden_states = [], []
    for t in range(len(inputs)):
        hidden_state = np.tanh(U @ inputs[t] + V @ hidden_state + b_hidden)
        out = W @ hidden_state + b_out
        outputs.append(np.exp(out - np.max(out)) / np.sum(np.exp(out - np.max(out))))
        hidden_states.append(hidden_state.copy())
    return outputs, hidden_states


def backward_pass(inputs, outputs, hidden_states, targets, params):
    U, V, W, b_hidden, b_out = params
    d_U, d_V, d_W = np.zeros_like(U), np.zeros_like(V), np.zeros_like(W)
    d_b_hidden, d_b_out = np.zeros_like(b_hidden), np.zeros_like(b_out)
    d_h_next = np.zeros_like(hidden_states[0])
    loss = 0
    for t in reversed(range(len(outputs))):
        loss += -np.sum(np.log(outputs[t] + 1e-9) * targets[t])
        d_o = outputs[t].copy()
        d_o[np.argmax(targets[t])] -= 1
        d_W += d_o @ hidden_states[t].T
        d_b_out += d_o
        d_h = W.T @ d_o + d_h_next
        d_f = (1 - hidden_states[t] ** 2) * d_h
        d_b_hidden += d_f
        d_U += d_f @ inputs[t].T
        d_V += d_f @ (hidden_states[t - 1] if t > 0 else np.zeros_like(d_f)).T
        d_h_next = V.T @ d_f
    return loss, (d_U, d_V, d_W, d_b_hidden, d_b_out)

"""

# the same, called at the top level as a notebook's later cell calls it
STATES_AS_ARGUMENTS_CALLED = (
    STATES_AS_ARGUMENTS
    + """

params = [np.random.randn(4, 3), np.random.randn(4, 4), np.random.randn(3, 4)]
params += [np.zeros((4, 1)), np.zeros((3, 1))]
test_input = [np.eye(3)[:, [i]] for i in (0, 1, 2)]
test_target = [np.eye(3)[:, [i]] for i in (1, 2, 0)]
outputs, hidden_states = forward_pass(test_input, np.zeros((4, 1)), params)
loss, grads = backward_pass(test_input, outputs, hidden_states, test_target, params)
"""
)


# the deeplearning.ai LSTM cell: weights in `parameters`, a dict of gradients returned
DLAI_CELL = """
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def lstm_cell_forward(xt, a_prev, c_prev, parameters):
    concat = np.concatenate((a_prev, xt), axis=0)
    ft = sigmoid(parameters["Wf"] @ concat + parameters["bf"])
    it = sigmoid(parameters["Wi"] @ concat + parameters["bi"])
    cct = np.tanh(parameters["Wc"] @ concat + parameters["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(parameters["Wo"] @ concat + parameters["bo"])
    a_next = ot * np.tanh(c_next)
    cache = (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters)
    return a_next, c_next, cache


def lstm_cell_backward(da_next, dc_next, cache):
    (a_next, c_next, a_prev, c_prev, ft, it, cct, ot, xt, parameters) = cache
    n_a, m = a_next.shape
    dot = da_next * np.tanh(c_next) * ot * (1 - ot)
    dcct = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * it * (1 - cct ** 2)
    dit = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * cct * it * (1 - it)
    dft = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * c_prev * ft * (1 - ft)
    concat = np.concatenate((a_prev, xt), axis=0)
    dWf = dft @ concat.T
    dWi = dit @ concat.T
    dWc = dcct @ concat.T
    dWo = dot @ concat.T
    dconcat = (
        parameters["Wf"].T @ dft
        + parameters["Wi"].T @ dit
        + parameters["Wc"].T @ dcct
        + parameters["Wo"].T @ dot
    )
    da_prev = dconcat[:n_a]
    dc_prev = (dc_next + da_next * ot * (1 - np.tanh(c_next) ** 2)) * ft
    dxt = dconcat[n_a:]
    return {"dxt": dxt, "da_prev": da_prev, "dc_prev": dc_prev, "dWf": dWf, "dWi": dWi,
            "dWc": dWc, "dWo": dWo}
"""

# activation layer objects, one per step and gate (`layer.forward(z)`, then `layer.output`;
# `layer.backward(d)`, then `layer.dinputs`), over histories with the initial state first
LAYER_OBJECTS = """\
import numpy as np


class Sigmoid:
    def forward(self, z):
        self.output = 1 / (1 + np.exp(-z))

    def backward(self, dvalues):
        self.dinputs = dvalues * self.output * (1 - self.output)


class Tanh:
    def forward(self, z):
        self.output = np.tanh(z)

    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.output**2)


class LayerLSTM:
    def __init__(self, n_in, n_hidden, seed=0):
        rng = np.random.default_rng(seed)
        size = (n_hidden, n_hidden + n_in)
        self.n_hidden = n_hidden
        self.Wf, self.Wi, self.Wo, self.Wg = (rng.normal(0, 0.3, size) for _ in range(4))
        self.bf, self.bi, self.bo, self.bg = (np.zeros((n_hidden, 1)) for _ in range(4))

    def forward(self, xs):
        steps = len(xs)
        self.xs = xs
        self.hs = [np.zeros((self.n_hidden, 1))]
        self.cs = [np.zeros((self.n_hidden, 1))]
        self.forget = [Sigmoid() for _ in range(steps)]
        self.inp = [Sigmoid() for _ in range(steps)]
        self.out = [Sigmoid() for _ in range(steps)]
        self.cand = [Tanh() for _ in range(steps)]
        self.squash = [Tanh() for _ in range(steps)]
        for t in range(steps):
            z = np.vstack((self.hs[t], xs[t]))
            self.forget[t].forward(self.Wf @ z + self.bf)
            self.inp[t].forward(self.Wi @ z + self.bi)
            self.out[t].forward(self.Wo @ z + self.bo)
            self.cand[t].forward(self.Wg @ z + self.bg)
            f = self.forget[t].output
            i = self.inp[t].output
            g = self.cand[t].output
            c = f * self.cs[t] + i * g
            self.squash[t].forward(c)
            h = self.out[t].output * self.squash[t].output
            self.hs.append(h)
            self.cs.append(c)
        return self.hs[1:]

    def backward(self, dhs):
        n = self.n_hidden
        dWf, dWi, dWo, dWg = (np.zeros_like(self.Wf) for _ in range(4))
        dbf, dbi, dbo, dbg = (np.zeros_like(self.bf) for _ in range(4))
        dh_next = np.zeros((n, 1))
        dc_next = np.zeros((n, 1))
        for t in reversed(range(len(self.xs))):
            dh = dhs[t] + dh_next
            self.squash[t].backward(dh * self.out[t].output)
            dc = self.squash[t].dinputs + dc_next
            self.out[t].backward(dh * self.squash[t].output)
            self.forget[t].backward(dc * self.cs[t])
            self.inp[t].backward(dc * self.cand[t].output)
            self.cand[t].backward(dc * self.inp[t].output)
            z = np.vstack((self.hs[t], self.xs[t]))
            dWf += self.forget[t].dinputs @ z.T
            dWi += self.inp[t].dinputs @ z.T
            dWo += self.out[t].dinputs @ z.T
            dWg += self.cand[t].dinputs @ z.T
            dbf += self.forget[t].dinputs
            dbi += self.inp[t].dinputs
            dbo += self.out[t].dinputs
            dbg += self.cand[t].dinputs
            dz = (
                self.Wf.T @ self.forget[t].dinputs
                + self.Wi.T @ self.inp[t].dinputs
                + self.Wo.T @ self.out[t].dinputs
                + self.Wg.T @ self.cand[t].dinputs
            )
            dh_next = dz[:n]
            dc_next = dc * self.forget[t].output
        return dWf, dWi, dWo, dWg, dbf, dbi, dbo, dbg
"""

# a vanilla RNN given its activation layer, with one copy of it per step
LAYER_RNN = """\
import numpy as np


class Tanh:
    def forward(self, z):
        self.output = np.tanh(z)

    def backward(self, dvalues):
        self.dinputs = dvalues * (1 - self.output**2)


class LayerRNN:
    def __init__(self, n_in, n_hidden, activation, seed=0):
        rng = np.random.default_rng(seed)
        self.Wx = rng.normal(0, 0.3, (n_hidden, n_in))
        self.Wh = rng.normal(0, 0.3, (n_hidden, n_hidden))
        self.b = np.zeros((n_hidden, 1))
        self.activation = activation

    def forward(self, xs):
        self.xs = xs
        self.hs = [np.zeros((self.Wh.shape[0], 1))]
        self.acts = [type(self.activation)() for _ in xs]
        for t, x in enumerate(xs):
            self.acts[t].forward(self.Wx @ x + self.Wh @ self.hs[t] + self.b)
            self.hs.append(self.acts[t].output)
        return self.hs[1:]

    def backward(self, dhs):
        dWx, dWh, db = np.zeros_like(self.Wx), np.zeros_like(self.Wh), np.zeros_like(self.b)
        dh_next = np.zeros_like(self.b)
        for t in reversed(range(len(self.xs))):
            self.acts[t].backward(dhs[t] + dh_next)
            dz = self.acts[t].dinputs
            dWx += dz @ self.xs[t].T
            dWh += dz @ self.hs[t].T
            db += dz
            dh_next = self.Wh.T @ dz
        return dWx, dWh, db
"""


# a batched LSTM with every gate in one array per step (`Z[t, :, k*H:(k+1)*H]`), the sigmoid
# written out, one weight matrix with the bias as its first row, and the forward's
# intermediates handed to the backward in a dict, as the module's own calls show
BATCHED_STACKED = """\
import numpy as np


class BatchedLSTM:
    @staticmethod
    def forward(X, W, h0, c0):
        T, B, D = X.shape
        H = W.shape[1] // 4
        U = np.zeros((T, B, 1 + D + H))
        Z = np.zeros((T, B, 4 * H))
        A = np.zeros((T, B, 4 * H))
        C = np.zeros((T, B, H))
        TC = np.zeros((T, B, H))
        Hs = np.zeros((T, B, H))
        for t in range(T):
            h_before = Hs[t - 1] if t > 0 else h0
            c_before = C[t - 1] if t > 0 else c0
            U[t, :, 0] = 1
            U[t, :, 1 : 1 + D] = X[t]
            U[t, :, 1 + D :] = h_before
            Z[t] = U[t] @ W
            A[t, :, : 3 * H] = 1.0 / (1.0 + np.exp(-Z[t, :, : 3 * H]))
            A[t, :, 3 * H :] = np.tanh(Z[t, :, 3 * H :])
            C[t] = A[t, :, :H] * A[t, :, 3 * H :] + A[t, :, H : 2 * H] * c_before
            TC[t] = np.tanh(C[t])
            Hs[t] = A[t, :, 2 * H : 3 * H] * TC[t]
        memo = {}
        memo["U"], memo["Z"], memo["A"] = U, Z, A
        memo["C"], memo["TC"], memo["W"], memo["c0"] = C, TC, W, c0
        return Hs, memo

    @staticmethod
    def backward(dHs, memo):
        U, Z, A, W = memo["U"], memo["Z"], memo["A"], memo["W"]
        C, TC, c0 = memo["C"], memo["TC"], memo["c0"]
        T, B, H = dHs.shape
        D = U.shape[2] - 1 - H
        dW = np.zeros_like(W)
        dA = np.zeros_like(A)
        dZ = np.zeros_like(Z)
        dX = np.zeros((T, B, D))
        dh = np.zeros((B, H))
        dc = np.zeros((B, H))
        for t in reversed(range(T)):
            c_before = C[t - 1] if t > 0 else c0
            dh_t = dHs[t] + dh
            dA[t, :, 2 * H : 3 * H] = TC[t] * dh_t
            dc = dc + (1 - TC[t] ** 2) * A[t, :, 2 * H : 3 * H] * dh_t
            dA[t, :, :H] = A[t, :, 3 * H :] * dc
            dA[t, :, H : 2 * H] = c_before * dc
            dA[t, :, 3 * H :] = A[t, :, :H] * dc
            dc = A[t, :, H : 2 * H] * dc
            dZ[t, :, 3 * H :] = (1 - A[t, :, 3 * H :] ** 2) * dA[t, :, 3 * H :]
            s = A[t, :, : 3 * H]
            dZ[t, :, : 3 * H] = s * (1 - s) * dA[t, :, : 3 * H]
            dW += U[t].T @ dZ[t]
            dU = dZ[t] @ W.T
            dX[t] = dU[:, 1 : 1 + D]
            dh = dU[:, 1 + D :]
        return dX, dW, dh, dc


rng = np.random.default_rng(0)
X = rng.normal(size=(5, 2, 3))
W = rng.normal(0, 0.3, (1 + 3 + 4, 16))
Hs, memo = BatchedLSTM.forward(X, W, np.zeros((2, 4)), np.zeros((2, 4)))
dX, dW, dh0, dc0 = BatchedLSTM.backward(np.ones_like(Hs), memo)
"""

# a class whose backward updates every gate's weights in one loop over (name, gradient) pairs
GATE_LOOP = """\
import numpy as np


def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


class SeqLSTM:
    def __init__(self, n_in, n_hid, n_out):
        rng = np.random.default_rng(0)
        z = n_in + n_hid
        self.params = {"Wy": rng.normal(0, 0.1, (n_out, n_hid)), "by": np.zeros((n_out, 1))}
        for name in "figo":
            self.params["W" + name] = rng.normal(0, 0.1, (n_hid, z))
            self.params["b" + name] = np.ones((n_hid, 1))
        self.n_hid = n_hid

    def forward(self, inputs, h_init, c_init):
        P = self.params
        self.hidden, self.cell = [h_init], [c_init]
        self.stack, self.gate_f, self.gate_i, self.cand, self.gate_o = [], [], [], [], []
        self.probs = []
        for x in inputs:
            stacked = np.vstack((self.hidden[-1], x))
            f = sig(P["Wf"] @ stacked + P["bf"])
            i = sig(P["Wi"] @ stacked + P["bi"])
            g = np.tanh(P["Wg"] @ stacked + P["bg"])
            o = sig(P["Wo"] @ stacked + P["bo"])
            c = f * self.cell[-1] + i * g
            h = o * np.tanh(c)
            scores = P["Wy"] @ h + P["by"]
            e = np.exp(scores - scores.max())
            self.stack.append(stacked)
            self.gate_f.append(f)
            self.gate_i.append(i)
            self.cand.append(g)
            self.gate_o.append(o)
            self.cell.append(c)
            self.hidden.append(h)
            self.probs.append(e / e.sum())
        return self.probs

    def backward(self, targets):
        P = self.params
        grads = {k: np.zeros_like(v) for k, v in P.items()}
        dh_carry = np.zeros((self.n_hid, 1))
        dc_carry = np.zeros((self.n_hid, 1))
        for t in range(len(targets) - 1, -1, -1):
            dy = self.probs[t].copy()
            dy[targets[t]] -= 1
            grads["Wy"] += dy @ self.hidden[t + 1].T
            grads["by"] += dy
            dh = P["Wy"].T @ dy + dh_carry
            tc = np.tanh(self.cell[t + 1])
            do = dh * tc * self.gate_o[t] * (1 - self.gate_o[t])
            dc = dh * self.gate_o[t] * (1 - tc ** 2) + dc_carry
            df = dc * self.cell[t] * self.gate_f[t] * (1 - self.gate_f[t])
            di = dc * self.cand[t] * self.gate_i[t] * (1 - self.gate_i[t])
            dg = dc * self.gate_i[t] * (1 - self.cand[t] ** 2)
            dstack = np.zeros_like(self.stack[t])
            for name, d in (("f", df), ("i", di), ("g", dg), ("o", do)):
                grads["W" + name] += d @ self.stack[t].T
                grads["b" + name] += d
                dstack += P["W" + name].T @ d
            dh_carry = dstack[: self.n_hid]
            dc_carry = dc * self.gate_f[t]
        return grads
"""

# a GRU language model in one function, histories in dicts keyed from -1 and the candidate
# reading the reset hidden state through its weights, U (r * h_prev)
GRU_DICT = """\
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def init_gru(vocab, hidden, seed=1):
    rng = np.random.default_rng(seed)
    shapes = {"Wz": (hidden, vocab), "Uz": (hidden, hidden), "bz": (hidden, 1),
              "Wr": (hidden, vocab), "Ur": (hidden, hidden), "br": (hidden, 1),
              "Wh": (hidden, vocab), "Uh": (hidden, hidden), "bh": (hidden, 1),
              "V": (vocab, hidden), "c": (vocab, 1)}
    return {k: rng.normal(0, 0.2, s) for k, s in shapes.items()}


def gru_loss(params, inputs, targets, h_prev):
    Wz, Uz, bz = params["Wz"], params["Uz"], params["bz"]
    Wr, Ur, br = params["Wr"], params["Ur"], params["br"]
    Wh, Uh, bh = params["Wh"], params["Uh"], params["bh"]
    V, c = params["V"], params["c"]
    x, z, r, hh, h, p = {}, {}, {}, {}, {}, {}
    h[-1] = np.copy(h_prev)
    loss = 0.0
    for t in range(len(inputs)):
        x[t] = np.zeros((Wz.shape[1], 1))
        x[t][inputs[t]] = 1
        z[t] = sigmoid(Wz @ x[t] + Uz @ h[t - 1] + bz)
        r[t] = sigmoid(Wr @ x[t] + Ur @ h[t - 1] + br)
        hh[t] = np.tanh(Wh @ x[t] + Uh @ (r[t] * h[t - 1]) + bh)
        h[t] = z[t] * h[t - 1] + (1 - z[t]) * hh[t]
        y = V @ h[t] + c
        p[t] = np.exp(y - np.max(y)) / np.sum(np.exp(y - np.max(y)))
        loss += -np.log(p[t][targets[t], 0])
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    dh_next = np.zeros_like(h[0])
    for t in reversed(range(len(inputs))):
        dy = np.copy(p[t])
        dy[targets[t]] -= 1
        grads["V"] += dy @ h[t].T
        grads["c"] += dy
        dh = V.T @ dy + dh_next
        dhh = dh * (1 - z[t])
        dhh_raw = dhh * (1 - hh[t] ** 2)
        grads["Wh"] += dhh_raw @ x[t].T
        grads["Uh"] += dhh_raw @ (r[t] * h[t - 1]).T
        grads["bh"] += dhh_raw
        drh = Uh.T @ dhh_raw
        dr = drh * h[t - 1]
        dr_raw = dr * r[t] * (1 - r[t])
        grads["Wr"] += dr_raw @ x[t].T
        grads["Ur"] += dr_raw @ h[t - 1].T
        grads["br"] += dr_raw
        dz = dh * (h[t - 1] - hh[t])
        dz_raw = dz * z[t] * (1 - z[t])
        grads["Wz"] += dz_raw @ x[t].T
        grads["Uz"] += dz_raw @ h[t - 1].T
        grads["bz"] += dz_raw
        dh_next = dh * z[t] + drh * r[t] + Uz.T @ dz_raw + Ur.T @ dr_raw
    return loss, grads, h[len(inputs) - 1]
"""

# a GRU as CS231n lays out an RNN: a step function that returns a cache tuple, its backward
# unpacking it, the gates stacked in (D, 3H) and (H, 3H) row-vector weights
GRU_STEP_CACHE = """\
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gru_step_forward(x, prev_h, Wx, Wh, b):
    H = prev_h.shape[1]
    a = x @ Wx[:, :2 * H] + prev_h @ Wh[:, :2 * H] + b[:2 * H]
    z = sigmoid(a[:, :H])
    r = sigmoid(a[:, H:2 * H])
    hh = np.tanh(x @ Wx[:, 2 * H:] + (r * prev_h) @ Wh[:, 2 * H:] + b[2 * H:])
    next_h = z * prev_h + (1 - z) * hh
    cache = (x, prev_h, Wx, Wh, z, r, hh)
    return next_h, cache


def gru_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, z, r, hh = cache
    H = prev_h.shape[1]
    dz = dnext_h * (prev_h - hh) * z * (1 - z)
    dhh = dnext_h * (1 - z) * (1 - hh ** 2)
    dprev_h = dnext_h * z
    drh = dhh @ Wh[:, 2 * H:].T
    dr = drh * prev_h * r * (1 - r)
    dprev_h += drh * r
    da = np.hstack([dz, dr])
    dx = da @ Wx[:, :2 * H].T + dhh @ Wx[:, 2 * H:].T
    dprev_h += da @ Wh[:, :2 * H].T
    dWx = np.hstack([x.T @ da, x.T @ dhh])
    dWh = np.hstack([prev_h.T @ da, (r * prev_h).T @ dhh])
    db = np.concatenate([da.sum(0), dhh.sum(0)])
    return dx, dprev_h, dWx, dWh, db


def gru_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    caches = []
    prev_h = h0
    for t in range(T):
        prev_h, cache = gru_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        caches.append(cache)
    return h, caches


def gru_backward(dh, caches):
    N, T, H = dh.shape
    D = caches[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, 3 * H))
    dWh = np.zeros((H, 3 * H))
    db = np.zeros(3 * H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        dx_t, dprev_h, dWx_t, dWh_t, db_t = gru_step_backward(dh[:, t, :] + dprev_h, caches[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    dh0 = dprev_h
    return dx, dh0, dWx, dWh, db
"""

# a GRU over one sequence, its histories preallocated (h[0] the initial state)
GRU_PREALLOC = """\
import numpy as np


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


class GRUSeq:
    def __init__(self, n_in, n_hid, seed=0):
        rng = np.random.default_rng(seed)
        self.W = {k: rng.normal(0, 0.3, (n_hid, n_in)) for k in ("z", "r", "n")}
        self.U = {k: rng.normal(0, 0.3, (n_hid, n_hid)) for k in ("z", "r", "n")}
        self.n_hid = n_hid

    def forward(self, xs):
        T = xs.shape[0]
        h = np.zeros((T + 1, self.n_hid))
        z, r, n = (np.zeros((T, self.n_hid)) for _ in range(3))
        for t in range(T):
            z[t] = sigmoid(self.W["z"] @ xs[t] + self.U["z"] @ h[t])
            r[t] = sigmoid(self.W["r"] @ xs[t] + self.U["r"] @ h[t])
            n[t] = np.tanh(self.W["n"] @ xs[t] + self.U["n"] @ (r[t] * h[t]))
            h[t + 1] = z[t] * h[t] + (1 - z[t]) * n[t]
        self.saved = (xs, h, z, r, n)
        return h[1:]

    def backward(self, dhs):
        xs, h, z, r, n = self.saved
        dW = {k: np.zeros_like(v) for k, v in self.W.items()}
        dU = {k: np.zeros_like(v) for k, v in self.U.items()}
        carry = np.zeros(self.n_hid)
        for t in reversed(range(xs.shape[0])):
            dh = dhs[t] + carry
            dn = dh * (1 - z[t]) * (1 - n[t] ** 2)
            dz = dh * (h[t] - n[t]) * z[t] * (1 - z[t])
            back = self.U["n"].T @ dn
            dr = back * h[t] * r[t] * (1 - r[t])
            dW["n"] += np.outer(dn, xs[t])
            dU["n"] += np.outer(dn, r[t] * h[t])
            dW["z"] += np.outer(dz, xs[t])
            dU["z"] += np.outer(dz, h[t])
            dW["r"] += np.outer(dr, xs[t])
            dU["r"] += np.outer(dr, h[t])
            carry = dh * z[t] + back * r[t] + self.U["z"].T @ dz + self.U["r"].T @ dr
        return dW, dU
"""
