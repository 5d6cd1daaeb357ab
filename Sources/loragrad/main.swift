import LoRAGrad
import LoRAGradOpenMP
import Foundation
for (l, h) in [(5, 1), (67, 2), (130, 1)] {
  let p = try AttentionProblem.synthetic(sequences: 2, length: l, width: 32, heads: h, rank: 4, seed: 1)
  let r = try p.gradients(method: .reference, parallelism: .serial)
  let f = try p.gradients(method: .exact, parallelism: .dispatch(threads: 2))
  let o = try p.gradients(method: .exact, parallelism: .openmp(threads: 2))
  var worst = 0.0
  for (proj, g) in r.adapters {
    for (x, y) in [(g.a, f.adapters[proj]!.a), (g.b, f.adapters[proj]!.b)] {
      let m = x.scalars.map { abs(Double($0)) }.max()!
      let e = zip(x.scalars, y.scalars).map { abs(Double($0) - Double($1)) }.max()!
      worst = max(worst, e / m)
    }
  }
  print(l, h, r.loss, f.loss, o.loss, worst, f.adapters == o.adapters)
}
