// nifti_clib (Debian libnifti2-dev): the NIfTI-1/2 reader and writer, gzip through znzlib.
//
// A C target rather than a system-library one: nifti2_io.h includes <znzlib.h> from its own folder,
// /usr/include/nifti, which is on no search path and has no pkg-config entry, and a system-library
// target cannot add one. This target's include/ folder is on the search path of whoever imports it,
// so the znzlib.h forwarder there answers that include. HAVE_ZLIB matches the Debian build.
#ifndef GLIA_CNIFTI_H
#define GLIA_CNIFTI_H
#define HAVE_ZLIB 1
#include "/usr/include/nifti/nifti2_io.h"

/// Sets the voxel-to-world affine (row-major 4x4) as both sform and qform, code 1 (scanner
/// anatomical), with the inverse matrices and the quaternion that nifti_image_write stores.
void glia_nifti_set_affine(nifti_image *nim, const double affine[16]);

/// The voxel-to-world affine (row-major 4x4): the sform when set, else the qform, else the spacing
/// on the diagonal. Returns which: 2 sform, 1 qform, 0 neither (the file states no orientation).
int glia_nifti_get_affine(const nifti_image *nim, double affine[16]);
#endif
