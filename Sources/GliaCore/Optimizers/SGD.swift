// Stochastic gradient descent with momentum, torch.optim.SGD's conventions.
//
// Per parameter, with gradient g, value p, momentum mu, dampening d:
//   g <- g + wd p                              (L2 weight decay)
//   first step:  buf <- g                      (PyTorch seeds the buffer with the gradient, undamped)
//   later:       buf <- mu buf + (1 - d) g
//   nesterov:    g <- g + mu buf,  else g <- buf   (only when mu > 0)
//   p <- p - lr g
// State slot: momentum_buffer (only with momentum).

/// SGD with optional momentum, dampening, Nesterov momentum and weight decay (PyTorch semantics).
public final class SGD: Optimizer {
    public var learningRate: Float
    /// Momentum factor mu (0 = plain SGD).
    public let momentum: Double
    /// Dampening d of the gradient's contribution to the buffer.
    public let dampening: Double
    /// L2 penalty added to the gradient.
    public let weightDecay: Double
    /// Nesterov momentum (needs momentum > 0 and no dampening, as in PyTorch).
    public let nesterov: Bool

    private var buffers: [String: [Float]] = [:]

    /// SGD; throws for negative values and for Nesterov without momentum or with dampening.
    public init(learningRate: Float, momentum: Double = 0, dampening: Double = 0, weightDecay: Double = 0,
                nesterov: Bool = false) throws {
        try require(learningRate >= 0, "learning rate", Double(learningRate), ">= 0")
        try require(momentum >= 0, "momentum", momentum, ">= 0")
        try require(weightDecay >= 0, "weight decay", weightDecay, ">= 0")
        try require(!nesterov || (momentum > 0 && dampening == 0), "dampening", dampening,
                    "0 with momentum > 0 for Nesterov")
        self.learningRate = learningRate
        self.momentum = momentum
        self.dampening = dampening
        self.weightDecay = weightDecay
        self.nesterov = nesterov
    }

    public func step(_ parameters: [Parameter]) {
        let (lr, mu, wd) = (learningRate, Float(momentum), Float(weightDecay))
        let keep = Float(1 - dampening)
        for p in parameters where !p.isFrozen {
            let grad = p.grad
            let useMomentum = momentum > 0
            // Taken out of the dictionary so the buffer is uniquely owned and updated in place.
            var buffer = useMomentum ? buffers.removeValue(forKey: p.name) ?? [] : []
            let seeded = useMomentum && buffer.isEmpty
            if seeded { buffer = [Float](repeating: 0, count: p.value.count) }
            let nesterov = nesterov
            p.value.scalars.withUnsafeMutableBufferPointer { w in
                grad.scalars.withUnsafeBufferPointer { g in
                    buffer.withUnsafeMutableBufferPointer { buf in
                        for i in 0..<w.count {
                            var d = g[i] + wd * w[i]
                            if useMomentum {
                                let b = seeded ? d : mu * buf[i] + keep * d
                                buf[i] = b
                                d = nesterov ? d + mu * b : b
                            }
                            w[i] -= lr * d
                        }
                    }
                }
            }
            if useMomentum { buffers[p.name] = buffer }
        }
    }

    public func stateTensors(for parameters: [Parameter]) -> [String: Tensor] {
        var out = ["lr": Tensor(shape: [1], scalars: [learningRate])]
        for p in parameters {
            if let b = buffers[p.name] { out["\(p.name).momentum_buffer"] = Tensor(shape: p.value.shape, scalars: b) }
        }
        return out
    }

    public func loadState(_ tensors: [String: Tensor], for parameters: [Parameter]) throws {
        var reader = StateReader(tensors)
        var restored: [String: [Float]] = [:]
        for p in parameters {
            if let slots = try reader.slots(["momentum_buffer"], of: p) { restored[p.name] = slots["momentum_buffer"]!.scalars }
        }
        try reader.checkAllUsed()
        buffers = restored
        if let lr = reader.learningRate { learningRate = lr }
    }
}
