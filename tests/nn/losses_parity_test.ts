import { gradients, realize } from "../../mod.ts";
import { crossEntropy, mseLoss } from "../../nn/mod.ts";
import {
  expectClose,
  type FixtureTensor,
  forEachTargetCase,
  loadFixture,
  TOLERANCE,
  toTensor,
} from "./helpers.ts";

interface LossCase {
  name: string;
  fn: "cross_entropy" | "mse_loss";
  options: {
    reduction: "mean" | "sum" | "none";
    label_smoothing?: number;
    ignore_index?: number;
  };
  x: FixtureTensor;
  target: FixtureTensor;
  g: FixtureTensor;
  y: FixtureTensor;
  grad_x: FixtureTensor;
  grad_target: FixtureTensor | null;
}

const { cases } = loadFixture<LossCase>("losses");

Deno.test("cross-entropy and MSE match torch.nn.functional", async (t) => {
  await forEachTargetCase(t, "losses", cases, async (c, target, key) => {
    const tol = TOLERANCE[target.dtype];
    const x = toTensor(c.x, target.dtype, target.backend);
    const tgt = toTensor(c.target, target.dtype, target.backend);
    const y = c.fn === "mse_loss"
      ? mseLoss(x, tgt, { reduction: c.options.reduction })
      : crossEntropy(x, tgt, {
        reduction: c.options.reduction,
        labelSmoothing: c.options.label_smoothing,
        ignoreIndex: c.options.ignore_index,
      });
    const g = toTensor(c.g, target.dtype, target.backend);
    const [gx, gt] = gradients(y.mul(g).sum(), [x, tgt]);
    await realize(y, gx, gt);
    await expectClose(y, c.y, tol, `${c.name} y`, key);
    await expectClose(gx, c.grad_x, tol, `${c.name} grad_x`, key);
    if (c.grad_target !== null) {
      await expectClose(gt, c.grad_target, tol, `${c.name} grad_target`, key);
    }
  });
});
