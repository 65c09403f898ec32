// GliaTUI: terminal layer, panes, themes.
import GliaCore
