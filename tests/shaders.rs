//! No GPU needed: naga parses and validates every composed kernel module, every entry point the
//! Rust side dispatches exists, each entry point stays within the WebGPU default limits and binds
//! 0..=n without gaps, and every uniform struct has the size of its Rust mirror.

use nanogan::{Family, Kernel};
use std::mem::size_of;

const MAX_STORAGE_BUFFERS: usize = 8;
const MAX_INVOCATIONS: u32 = 256;
const MAX_WORKGROUP_BYTES: u32 = 16 * 1024;

/// Rust mirror size of each WGSL uniform struct, by name.
fn rust_uniform_size(name: &str) -> Option<usize> {
    Some(match name {
        "GemmParams" => size_of::<nanogan::gpu::gemm::GemmParams>(),
        "ReduceParams" => size_of::<nanogan::nn::linear::ReduceParams>(),
        "LossParams" => size_of::<nanogan::gan::loss::LossParams>(),
        "GatherParams" => size_of::<nanogan::io::data::GatherParams>(),
        "RandomParams" => size_of::<nanogan::gpu::random::RandomParams>(),
        "DropoutParams" => size_of::<nanogan::nn::dropout::DropoutParams>(),
        "AdamParams" => size_of::<nanogan::nn::adam::AdamParams>(),
        "BatchNormParams" => size_of::<nanogan::nn::batch_norm::BatchNormParams>(),
        "ActivationParams" => size_of::<nanogan::nn::activation::ActivationParams>(),
        "UpsampleParams" => size_of::<nanogan::nn::upsample::UpsampleParams>(),
        "ColumnsParams" => size_of::<nanogan::gpu::conv_gemm::ColumnsParams>(),
        "DiscreteParams" => size_of::<nanogan::gan::discrete::DiscreteParams>(),
        "PoolParams" => size_of::<nanogan::nn::pool::PoolParams>(),
        _ => return None,
    })
}

fn parse(family: Family) -> (naga::Module, naga::valid::ModuleInfo) {
    let src = &family.source();
    let module = naga::front::wgsl::parse_str(src)
        .unwrap_or_else(|e| panic!("{}.wgsl does not parse:\n{}", family.name(), e.emit_to_string(src)));
    let info = naga::valid::Validator::new(naga::valid::ValidationFlags::all(), naga::valid::Capabilities::empty())
        .validate(&module)
        .unwrap_or_else(|e| panic!("{}.wgsl does not validate:\n{}", family.name(), e.emit_to_string(src)));
    (module, info)
}

#[test]
fn every_family_validates() {
    for family in Family::ALL {
        parse(family);
    }
}

#[test]
fn every_kernel_has_its_entry_point() {
    for kernel in Kernel::ALL {
        let (module, _) = parse(kernel.family());
        let ep = module.entry_points.iter().find(|e| e.name == kernel.entry());
        assert!(ep.is_some(), "{:?}: no entry point '{}' in {}.wgsl", kernel, kernel.entry(), kernel.family().name());
        assert_eq!(ep.map(|e| e.stage), Some(naga::ShaderStage::Compute), "{}", kernel.entry());
    }
}

#[test]
fn entry_points_stay_within_webgpu_limits() {
    for family in Family::ALL {
        let (module, info) = parse(family);
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        for (index, ep) in module.entry_points.iter().enumerate() {
            let used = info.get_entry_point(index);
            let mut bindings = Vec::new();
            let mut storage = 0;
            let mut workgroup_bytes = 0;
            for (handle, var) in module.global_variables.iter() {
                if used[handle].is_empty() {
                    continue;
                }
                match var.space {
                    naga::AddressSpace::Storage { .. } => storage += 1,
                    naga::AddressSpace::WorkGroup => workgroup_bytes += layouter[var.ty].size,
                    _ => {}
                }
                if let Some(b) = &var.binding {
                    assert_eq!(b.group, 0, "{}: only group 0 is used", ep.name);
                    bindings.push(b.binding);
                }
            }
            bindings.sort();
            let expected: Vec<u32> = (0..bindings.len() as u32).collect();
            assert_eq!(bindings, expected, "{}: bindings must be 0..=n without gaps", ep.name);
            assert!(storage <= MAX_STORAGE_BUFFERS, "{}: {storage} storage buffers", ep.name);
            let invocations: u32 = ep.workgroup_size.iter().product();
            assert!(invocations <= MAX_INVOCATIONS, "{}: {invocations} invocations per workgroup", ep.name);
            assert!(workgroup_bytes <= MAX_WORKGROUP_BYTES, "{}: {workgroup_bytes} bytes of workgroup memory", ep.name);
        }
    }
}

#[test]
fn uniform_structs_match_their_rust_mirrors() {
    for family in Family::ALL {
        let (module, _) = parse(family);
        let mut layouter = naga::proc::Layouter::default();
        layouter.update(module.to_ctx()).expect("layout");
        let uniforms: Vec<_> =
            module.global_variables.iter().filter(|(_, v)| v.space == naga::AddressSpace::Uniform).collect();
        assert_eq!(uniforms.len(), 1, "{}.wgsl: one uniform struct per family", family.name());
        let (_, var) = uniforms[0];
        assert_eq!(var.binding.as_ref().map(|b| b.binding), Some(0), "{}: uniform at binding 0", family.name());
        let name = module.types[var.ty].name.clone().unwrap_or_default();
        let wgsl = layouter[var.ty].size as usize;
        let rust = rust_uniform_size(&name).unwrap_or_else(|| panic!("{name} has no Rust mirror in this test's table"));
        assert_eq!(wgsl, rust, "{name}: WGSL size {wgsl} vs Rust size {rust}");
        assert_eq!(rust % 16, 0, "{name}: pad the uniform to 16 bytes");
    }
}
