//! Normal-study templates in English.

use super::Text;

pub(super) const TEMPLATES: [Text; 5] = [
    Text {
        id: "ct-head",
        name: "CT head without contrast",
        technique: "Axial CT of the head from the skull base to the vertex without intravenous \
contrast. Multiplanar reconstructions in brain and bone windows.",
        comparison: "None available.",
        findings: "Brain parenchyma: Normal grey–white matter differentiation. No intracranial \
haemorrhage, mass, mass effect or established territorial infarct.
Ventricles and extra-axial spaces: Ventricles and sulci are normal in size and configuration \
for age. No extra-axial collection. Midline structures are central. Basal cisterns are patent.
Posterior fossa: Cerebellum and brainstem are unremarkable.
Vessels: No hyperdense vessel sign.
Skull and skull base: No fracture or destructive bone lesion.
Paranasal sinuses and mastoids: Clear.
Orbits: Unremarkable.",
        impression: "No acute intracranial abnormality.",
    },
    Text {
        id: "ct-chest",
        name: "CT chest with contrast",
        technique: "Helical CT of the chest from the thoracic inlet to the adrenal glands after \
intravenous contrast. Axial 1 mm reconstructions in lung and mediastinal windows, with \
multiplanar reformats.",
        comparison: "None available.",
        findings: "Lungs and airways: No consolidation, mass or suspicious pulmonary nodule. \
No interstitial abnormality. Central airways are patent.
Pleura: No pleural effusion or pneumothorax.
Mediastinum and hila: No enlarged mediastinal, hilar or axillary lymph nodes.
Heart and great vessels: Heart size is normal. No pericardial effusion. Thoracic aorta and \
pulmonary arteries are normal in calibre.
Chest wall and bones: No suspicious osseous lesion or fracture.
Upper abdomen: Visualised portions are unremarkable.",
        impression: "No acute cardiopulmonary abnormality.",
    },
    Text {
        id: "ct-abdomen",
        name: "CT abdomen and pelvis with contrast",
        technique: "Helical CT of the abdomen and pelvis in the portal venous phase after \
intravenous contrast. Axial and coronal reconstructions.",
        comparison: "None available.",
        findings: "Liver: Normal size and attenuation. No focal lesion.
Gallbladder and bile ducts: Gallbladder unremarkable. No biliary dilatation.
Pancreas: Normal enhancement. No mass or duct dilatation.
Spleen: Normal size.
Adrenal glands: Unremarkable.
Kidneys and ureters: Symmetric enhancement. No hydronephrosis, calculus or mass.
Urinary bladder: Unremarkable for the degree of distension.
Bowel and mesentery: No bowel obstruction or wall thickening. Normal appendix.
Lymph nodes: No enlarged abdominal or pelvic lymph nodes.
Vessels: Abdominal aorta normal in calibre.
Peritoneum: No free fluid or free gas.
Pelvic organs: Unremarkable.
Bones and soft tissues: No suspicious osseous lesion.",
        impression: "No acute abnormality in the abdomen or pelvis.",
    },
    Text {
        id: "chest-xray",
        name: "Chest X-ray",
        technique: "Posteroanterior and lateral chest radiographs.",
        comparison: "None available.",
        findings: "Lungs: Clear. No focal consolidation, mass or pulmonary oedema.
Pleura: No pleural effusion or pneumothorax.
Heart and mediastinum: Cardiomediastinal silhouette is normal in size and contour.
Bones and soft tissues: No acute osseous abnormality.",
        impression: "No acute cardiopulmonary abnormality.",
    },
    Text {
        id: "extremity-xray",
        name: "Extremity X-ray",
        technique: "Radiographs in two orthogonal projections.",
        comparison: "None available.",
        findings: "Bones: No fracture. No focal bone lesion. Normal bone mineralisation.
Joints: Normal alignment. Joint spaces are preserved. No effusion.
Soft tissues: No swelling. No radiopaque foreign body.",
        impression: "No fracture or dislocation.",
    },
];
