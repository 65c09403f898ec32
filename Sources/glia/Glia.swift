// glia: the command-line entry point. With no subcommand it opens the workstation.
import ArgumentParser

@main
struct Glia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "glia",
        abstract: "A terminal workstation for brain-MRI tumor classification and segmentation.",
        discussion: """
            Glia works on the LGG brain MRI dataset (kaggle_3m layout). Without a subcommand it opens \
            the workstation; the subcommands below run the same core headless.
            """,
        version: "0.1.0",
        subcommands: [
            Workstation.self,
            Train.self,
            Eval.self,
            Predict.self,
            Show.self,
            DataCommand.self,
            Synth.self,
            Runs.self,
            Triage.self,
            Bench.self,
        ],
        defaultSubcommand: Workstation.self
    )
}
