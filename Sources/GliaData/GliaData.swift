// GliaData: dataset index, TIFF I/O, patient-level split, augmentation, loader, phantom data.
import GliaCore
