import LoRAGrad
import LoRAGradOpenMP
import Foundation
let args = CommandLine.arguments
let l = Int(args[1])!, h = Int(args[2])!, t = Int(args[3])!
let p = try AttentionProblem.synthetic(sequences: 1, length: l, width: 64, heads: h, rank: 8, seed: 1)
for _ in 0..<3 {
  let start = Date()
  let f = try p.gradients(method: .exact, parallelism: .dispatch(threads: t))
  let s = Date().timeIntervalSince(start)
  print(l, h, t, f.loss, s, p.exactFlopCount / s / 1e9)
}
