//! Adapter choice and device limits, each a clear error rather than a wgpu panic.

use nanogan::{Error, Gpu, Tensor, Variant};

#[test]
fn variants_are_named_and_chosen_by_adapter_type() {
    for v in Variant::ALL {
        assert_eq!(Variant::parse(v.name()), Some(v));
    }
    assert_eq!(Variant::parse("fast"), None);
    assert_eq!(Variant::for_device(nanogan::wgpu::DeviceType::Cpu), Variant::Tall);
    assert_eq!(Variant::for_device(nanogan::wgpu::DeviceType::DiscreteGpu), Variant::Tiles);
    assert_eq!(Variant::for_device(nanogan::wgpu::DeviceType::IntegratedGpu), Variant::Tiles);
}

#[test]
fn unknown_adapter_name_is_an_error_listing_the_adapters() {
    // Only this test in this binary touches the environment (NANOGAN_ADAPTER, then
    // NANOGAN_KERNELS below), so setting it is race-free.
    // SAFETY: no other thread of this test binary reads or writes the environment.
    unsafe { std::env::set_var("NANOGAN_ADAPTER", "no-such-adapter-xyz") };
    let result = Gpu::new_blocking();
    unsafe { std::env::remove_var("NANOGAN_ADAPTER") };
    match result {
        Err(Error::NoAdapter(m)) => assert!(m.contains("no-such-adapter-xyz"), "{m}"),
        Err(e) => panic!("expected NoAdapter, got {e}"),
        Ok(g) => panic!("NANOGAN_ADAPTER=no-such-adapter-xyz matched {}", g.describe()),
    }
    // An unknown kernel variant is refused with the known ones named; a known one is used.
    // SAFETY: as above.
    unsafe { std::env::set_var("NANOGAN_KERNELS", "fastest") };
    let result = Gpu::new_blocking();
    unsafe { std::env::set_var("NANOGAN_KERNELS", "tiles") };
    let forced = Gpu::new_blocking();
    unsafe { std::env::remove_var("NANOGAN_KERNELS") };
    match result {
        Err(Error::Param(m)) => assert!(m.contains("'fastest'") && m.contains("registers, tall, tiles"), "{m}"),
        Err(e) => panic!("expected Param, got {e}"),
        Ok(g) => panic!("NANOGAN_KERNELS=fastest gave {}", g.describe()),
    }
    if let Ok(gpu) = forced {
        assert_eq!(gpu.variant(), Variant::Tiles);
        assert!(gpu.describe().contains("tiles kernels"), "{}", gpu.describe());
    }
    // With the variables gone the default adapter is found again (unless there is none).
    match Gpu::new_blocking() {
        Ok(gpu) => {
            let e = Tensor::zeros(&gpu, &[1 << 16, 1 << 13]).unwrap_err().to_string();
            assert!(e.contains("limit") && e.contains("bytes"), "{e}");
            let e = Tensor::zeros(&gpu, &[1 << 20, 1 << 20]).unwrap_err().to_string();
            assert!(e.contains("32 bits"), "{e}");
            let e = Tensor::from_slice(&gpu, &[2, 2], &[1.0; 3]).unwrap_err().to_string();
            assert!(e.contains("[2, 2]") && e.contains("3 were given"), "{e}");
            variant_gpus_report_validation_errors(&gpu);
        }
        Err(e) => assert!(std::env::var("NANOGAN_ALLOW_NO_GPU").as_deref() == Ok("1"), "{e}"),
    }
}

/// A variant's `Gpu` shares the device's one error handler: a validation error made through
/// either is reported by `check` (and only once). Called from the test above, which owns the
/// environment this binary's devices are opened under.
fn variant_gpus_report_validation_errors(base: &Gpu) {
    let variant = base.with_variant(Variant::Tiles);
    let bad = nanogan::wgpu::BufferDescriptor {
        label: Some("map-read storage"),
        size: 16,
        usage: nanogan::wgpu::BufferUsages::MAP_READ | nanogan::wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    };
    let _ = base.device.create_buffer(&bad);
    assert!(variant.check().is_err(), "the variant's check missed an error made on its device");
    assert!(base.check().is_ok(), "the error was reported twice");
    let _ = variant.device.create_buffer(&bad);
    assert!(base.check().is_err(), "the base's check missed an error made through the variant");
}
