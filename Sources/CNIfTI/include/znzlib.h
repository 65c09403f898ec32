// Forwards nifti2_io.h's <znzlib.h> to nifti_clib's header, which sits in /usr/include/nifti: a
// folder on no search path, with no pkg-config entry to add it (see CNIfTI.h).
#include "/usr/include/nifti/znzlib.h"
