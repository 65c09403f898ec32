// The dashboard's "new run" form: the recipe's main options, each chosen from a short list with
// left/right so no typing is needed (and nothing typed can be invalid).
import GliaTraining

/// Options of a run to start from the workstation.
public struct RunForm: Sendable, Equatable {
    /// One row of the form.
    public enum Field: Int, CaseIterable, Sendable {
        case recipe, epochs, batchSize, learningRate, imageSize, backbone, maxSteps, augment

        /// Label shown left of the value.
        public var label: String {
            switch self {
            case .recipe: "recipe"
            case .epochs: "epochs"
            case .batchSize: "batch size"
            case .learningRate: "learning rate"
            case .imageSize: "image size"
            case .backbone: "backbone"
            case .maxSteps: "steps/epoch"
            case .augment: "augment"
            }
        }
    }

    static let epochChoices = [1, 2, 3, 5, 10, 20, 40, 50]
    static let batchChoices = [2, 4, 8, 16, 32]
    static let learningRateChoices: [Float] = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2]
    static let imageSizeChoices = [64, 128, 256]
    static let backboneChoices = ["resnet10", "resnet18", "resnet34", "resnet50"]
    /// 0 = the whole epoch.
    static let maxStepChoices = [0, 5, 10, 20, 50, 100, 200]

    /// Row with the cursor.
    public var field = Field.recipe
    /// The run the form describes (dataPath filled in when started).
    public private(set) var configuration: RunConfiguration

    /// A form holding the segmenter recipe's defaults.
    public init() {
        configuration = RunConfiguration.defaults(for: .segmenter, dataPath: "")
    }

    /// Moves the cursor up (-1) or down (+1); the backbone row is skipped for the segmenter.
    public mutating func moveField(by delta: Int) {
        var next = field.rawValue
        repeat {
            next = (next + delta + Field.allCases.count) % Field.allCases.count
        } while Field(rawValue: next) == .backbone && configuration.recipe == .segmenter
        field = Field(rawValue: next)!
    }

    /// Steps the value under the cursor to the previous (-1) or next (+1) choice.
    public mutating func change(by delta: Int) {
        func step<T: Equatable>(_ choices: [T], _ value: T) -> T {
            let i = choices.firstIndex(of: value) ?? 0
            return choices[max(0, min(choices.count - 1, i + delta))]
        }
        switch field {
        case .recipe:
            let recipe: RecipeKind = configuration.recipe == .segmenter ? .classifier : .segmenter
            let kept = configuration
            configuration = RunConfiguration.defaults(for: recipe, dataPath: "")
            configuration.maxStepsPerEpoch = kept.maxStepsPerEpoch
            configuration.epochs = kept.epochs
        case .epochs: configuration.epochs = step(Self.epochChoices, configuration.epochs)
        case .batchSize: configuration.batchSize = step(Self.batchChoices, configuration.batchSize)
        case .learningRate: configuration.learningRate = step(Self.learningRateChoices, configuration.learningRate)
        case .imageSize: configuration.imageSize = step(Self.imageSizeChoices, configuration.imageSize)
        case .backbone: configuration.backbone = step(Self.backboneChoices, configuration.backbone)
        case .maxSteps: configuration.maxStepsPerEpoch = step(Self.maxStepChoices, configuration.maxStepsPerEpoch)
        case .augment: configuration.augment.toggle()
        }
    }

    /// The value shown for `field`.
    public func value(of field: Field) -> String {
        let c = configuration
        switch field {
        case .recipe: return c.recipe.rawValue
        case .epochs: return "\(c.epochs)"
        case .batchSize: return "\(c.batchSize)"
        case .learningRate: return Chart.compact(Double(c.learningRate))
        case .imageSize: return "\(c.imageSize) px"
        case .backbone: return c.recipe == .classifier ? c.backbone : "-"
        case .maxSteps: return c.maxStepsPerEpoch == 0 ? "all" : "\(c.maxStepsPerEpoch)"
        case .augment: return c.augment ? "yes" : "no"
        }
    }
}
