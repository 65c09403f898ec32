// Affine helpers for Swift, which sees nifti_dmat44's double[4][4] as nested tuples.
#include "CNIfTI.h"

void glia_nifti_set_affine(nifti_image *nim, const double affine[16]) {
    nifti_dmat44 m;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) m.m[r][c] = affine[r * 4 + c];
    nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
    nim->sto_xyz = m;
    nim->sto_ijk = nifti_dmat44_inverse(m);
    double dx, dy, dz;
    nifti_dmat44_to_quatern(m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d,
                            &nim->qoffset_x, &nim->qoffset_y, &nim->qoffset_z, &dx, &dy, &dz, &nim->qfac);
    nim->qto_xyz = nifti_quatern_to_dmat44(nim->quatern_b, nim->quatern_c, nim->quatern_d,
                                           nim->qoffset_x, nim->qoffset_y, nim->qoffset_z,
                                           nim->dx, nim->dy, nim->dz, nim->qfac);
    nim->qto_ijk = nifti_dmat44_inverse(nim->qto_xyz);
}

int glia_nifti_get_affine(const nifti_image *nim, double affine[16]) {
    const nifti_dmat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : nim->qform_code > 0 ? &nim->qto_xyz : NULL;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) affine[r * 4 + c] = m ? m->m[r][c] : 0;
    if (!m) {
        affine[0] = nim->dx > 0 ? nim->dx : 1;
        affine[5] = nim->dy > 0 ? nim->dy : 1;
        affine[10] = nim->dz > 0 ? nim->dz : 1;
        affine[15] = 1;
    }
    return nim->sform_code > 0 ? 2 : nim->qform_code > 0 ? 1 : 0;
}
