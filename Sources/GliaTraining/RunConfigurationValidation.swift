// Checks of a run configuration before a run is created: every number a user can type (CLI flags,
// the workstation's form) or a configuration file can hold, so that a bad value ends in one line
// naming it rather than in a trap mid-run, a raw encoding error, or a run recorded as failed.
import Foundation
import GliaCore
import GliaData

/// A run configuration value that no run can use, naming the field.
public struct RunConfigurationError: Error, Equatable, CustomStringConvertible, LocalizedError {
    /// The field, as `RunConfiguration` names it.
    public var field: String
    /// The value given, as text.
    public var value: String
    /// What the value must be.
    public var requirement: String

    public var description: String { "\(field) = \(value): \(requirement)" }
    public var errorDescription: String? { description }
}

extension RunConfiguration {
    /// Largest batch accepted: a batch of 256x256 RGB slices this size already takes 3 GB of input.
    public static let maximumBatchSize = 4096
    /// Largest initial learning rate accepted; far larger ones diverge on the first step.
    public static let maximumLearningRate: Float = 10

    /// Throws `RunConfigurationError` for the first value no run can use: sizes the model cannot take
    /// (the segmenter's input must be a multiple of 16, a classifier's must leave its head a feature
    /// map), counts out of range, learning rates and decays that are not finite.
    public func validate() throws {
        func fail(_ field: String, _ value: Any, _ requirement: String) -> RunConfigurationError {
            RunConfigurationError(field: field, value: "\(value)", requirement: requirement)
        }
        guard epochs >= 1 else { throw fail("epochs", epochs, "must be at least 1") }
        guard (1...Self.maximumBatchSize).contains(batchSize) else {
            throw fail("batchSize", batchSize, "must be in 1...\(Self.maximumBatchSize)")
        }
        guard learningRate.isFinite, learningRate > 0, learningRate <= Self.maximumLearningRate else {
            throw fail("learningRate", learningRate, "must be a number in (0, \(Self.maximumLearningRate)]")
        }
        guard weightDecay.isFinite, weightDecay >= 0 else {
            throw fail("weightDecay", weightDecay, "must be a finite number >= 0")
        }
        guard patience >= 1 else {
            throw fail("patience", patience, "must be at least 1 (epochs without improvement before stopping)")
        }
        guard trainFraction > 0, validationFraction > 0, trainFraction + validationFraction <= 1 else {
            throw fail("trainFraction, validationFraction", "\(trainFraction), \(validationFraction)",
                       "must be positive and sum to at most 1")
        }
        guard (0...1).contains(tumorFraction) else { throw fail("tumorFraction", tumorFraction, "must be in 0...1") }
        guard weightAverage == 0 || (weightAverage >= 0.5 && weightAverage < 1) else {
            throw fail("weightAverage", weightAverage, "must be 0 (off) or a decay in [0.5, 1)")
        }
        guard maxStepsPerEpoch >= 0 else { throw fail("maxStepsPerEpoch", maxStepsPerEpoch, "must be 0 (whole epochs) or more") }
        try validateImageSize(fail)
    }

    /// The input side must divide the 256 px slices and fit the model built from it.
    private func validateImageSize(_ fail: (String, Any, String) -> RunConfigurationError) throws {
        let side = TIFFImage.sliceSide
        guard imageSize > 0, imageSize <= side, side % imageSize == 0 else {
            throw fail("imageSize", imageSize, "must divide \(side) (e.g. 256, 128, 64)")
        }
        let resnet = recipe == .classifier ? ClassifierSession.backbones[backbone] : nil
        if let resnet {
            do {
                try ClassifierConfiguration(backbone: resnet, imageSize: imageSize).validate()
            } catch let error as ModelConfigurationError {
                throw fail("imageSize", imageSize, "too small for the \(backbone) classifier (\(error))")
            }
        } else {
            // The segmenter, and the classifier's gate on it, run the ResUNet: one halving per level.
            let multiple = ResUNetConfiguration.standard.sizeMultiple
            guard imageSize % multiple == 0 else {
                throw fail("imageSize", imageSize, "the segmenter needs a multiple of \(multiple) (e.g. 256, 128, 64)")
            }
        }
    }
}
