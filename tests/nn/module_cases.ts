/**
 * Runs the module cases of the PyTorch fixtures (see tests/fixtures/README.md) against our
 * layers: outputs, input and parameter gradients, and buffers after each call.
 *
 * @module
 */

import { gradients, realize } from "../../mod.ts";
import {
  BatchNorm1d,
  BatchNorm2d,
  Conv2d,
  GroupNorm,
  InstanceNorm2d,
  LayerNorm,
  Linear,
  type Module,
  RepresentativeBatchNorm2d,
} from "../../nn/mod.ts";
import { expectClose, type FixtureTensor, type Target, TOLERANCE, toTensor } from "./helpers.ts";

/** A module case of the fixtures. */
export interface ModuleCase {
  name: string;
  module: string;
  options: Record<string, unknown>;
  mode: "train" | "eval";
  params: Record<string, FixtureTensor>;
  buffers: Record<string, FixtureTensor>;
  calls?: {
    x: FixtureTensor;
    g: FixtureTensor;
    y: FixtureTensor;
    grad_x: FixtureTensor;
    grad_params: Record<string, FixtureTensor>;
    buffers_after: Record<string, FixtureTensor>;
  }[];
  x?: FixtureTensor;
  error?: { stage: string; type: string; message: string };
  buffers_after?: Record<string, FixtureTensor>;
}

/** Builds the module a case describes, with PyTorch's keyword arguments mapped to ours. */
export function buildModule(c: ModuleCase, target: Target): Module {
  const o = c.options as Record<string, never>;
  const place = { dtype: target.dtype, backend: target.backend };
  const norm = {
    ...place,
    eps: o.eps,
    momentum: o.momentum,
    affine: o.affine,
    trackRunningStats: o.track_running_stats,
  };
  switch (c.module) {
    case "RepresentativeBatchNorm2d":
      return new RepresentativeBatchNorm2d(o.num_features, norm);
    case "BatchNorm2d":
      return new BatchNorm2d(o.num_features, norm);
    case "BatchNorm1d":
      return new BatchNorm1d(o.num_features, norm);
    case "InstanceNorm2d":
      return new InstanceNorm2d(o.num_features, norm);
    case "GroupNorm":
      return new GroupNorm(o.num_groups, o.num_channels, {
        ...place,
        eps: o.eps,
        affine: o.affine,
      });
    case "LayerNorm":
      return new LayerNorm(o.normalized_shape, {
        ...place,
        eps: o.eps,
        elementwiseAffine: o.elementwise_affine,
      });
    case "Conv2d":
      return new Conv2d(o.in_channels, o.out_channels, o.kernel_size, {
        ...place,
        stride: o.stride,
        padding: o.padding,
        dilation: o.dilation,
        groups: o.groups,
        bias: o.bias,
      });
    case "Linear":
      return new Linear(o.in_features, o.out_features, { ...place, bias: o.bias });
    default:
      throw new Error(`unknown fixture module ${c.module}`);
  }
}

/** Loads the case's parameters and buffers (strictly) and sets the mode. */
export function prepare(c: ModuleCase, target: Target): Module {
  const m = buildModule(c, target);
  const record = Object.fromEntries(
    Object.entries({ ...c.params, ...c.buffers }).map(([k, t]) => [
      k,
      toTensor(t, target.dtype, target.backend),
    ]),
  );
  m.loadStateDict(record);
  return c.mode === "train" ? m.train() : m.eval();
}

/** Runs every call of a case on `target` and compares with the fixture. */
export async function checkCalls(c: ModuleCase, target: Target, key: string): Promise<void> {
  const tol = TOLERANCE[target.dtype];
  const m = prepare(c, target);
  for (const [k, call] of (c.calls ?? []).entries()) {
    const at = `${c.name} call ${k} (${target.backend}, ${target.dtype})`;
    const x = toTensor(call.x, target.dtype, target.backend);
    const g = toTensor(call.g, target.dtype, target.backend);
    const y = m.forward(x);
    const named = m.namedParameters();
    const [gx, ...gp] = gradients(y.mul(g).sum(), [x, ...named.map(([, p]) => p)]);
    await realize(y, gx, ...gp, ...m.pendingState());
    await expectClose(y, call.y, tol, `${at} y`, key);
    await expectClose(gx, call.grad_x, tol, `${at} grad_x`, key);
    const expectedNames = Object.keys(call.grad_params);
    const names = named.map(([n]) => n);
    if (names.join(",") !== expectedNames.join(",")) {
      throw new Error(`${at}: parameters ${names}, expected ${expectedNames}`);
    }
    for (const [i, [name]] of named.entries()) {
      await expectClose(gp[i], call.grad_params[name], tol, `${at} grad ${name}`, key);
    }
    m.detachState();
    const buffers = Object.fromEntries(m.namedBuffers());
    const bufferNames = Object.keys(buffers);
    if (bufferNames.join(",") !== Object.keys(call.buffers_after).join(",")) {
      throw new Error(`${at}: buffers ${bufferNames}, expected ${Object.keys(call.buffers_after)}`);
    }
    for (const [name, t] of Object.entries(call.buffers_after)) {
      await expectClose(buffers[name], t, tol, `${at} buffer ${name}`, key);
    }
  }
}
