// GliaTraining: training actor, run store, recipes.
import GliaCore
import GliaData
