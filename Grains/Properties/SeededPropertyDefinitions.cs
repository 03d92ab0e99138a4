namespace Glance.Grains.Properties;

/// <summary>
/// The definitions a new service starts with (written once, on the catalog's first activation;
/// admins may change or remove them). Values follow python-glanceclient's "useful image
/// properties" page and Nova's image property enums. They describe and never refuse: Glance
/// accepts any string for these names (os_distro "talos", hw_disk_bus "nvme", hw_cpu_cores "0"),
/// so each is seeded with <see cref="PropertyDefinition.Enforced"/> false; an operator who wants
/// one as a rule sets <c>"enforced": true</c> on it.
/// </summary>
public static class SeededPropertyDefinitions
{
    private const string PropertyKeys = "https://docs.openstack.org/python-glanceclient/latest/cli/property-keys.html";

    /// <summary>The seeded definitions.</summary>
    public static readonly ImmutableArray<PropertyDefinition> All =
    [
        new()
        {
            Enforced = false,
            Name = "os_distro",
            Description = $"Common name of operating system distribution as specified in {PropertyKeys}",
            Enum =
            [
                "almalinux", "alpine", "arch", "centos", "cirros", "debian", "fedora", "freebsd", "gentoo",
                "mandrake", "mandriva", "mes", "msdos", "netbsd", "netware", "openbsd", "opensolaris",
                "opensuse", "rhel", "rocky", "sled", "sles", "ubuntu", "windows",
            ],
        },
        new()
        {
            Enforced = false,
            Name = "os_version",
            Description = "Operating system version as specified by the distributor.",
            MaxLength = 64,
        },
        new()
        {
            Enforced = false,
            Name = "hw_disk_bus",
            Description = "Bus the hypervisor attaches the image's disks to.",
            Enum = ["fdc", "ide", "lxc", "sata", "scsi", "uml", "usb", "virtio", "xen"],
        },
        new()
        {
            Enforced = false,
            Name = "hw_cpu_cores",
            Type = PropertyType.Integer,
            Description = "Preferred number of cores per socket.",
            Minimum = 1,
            Maximum = 1024,
        },
        new()
        {
            Enforced = false,
            Name = "hw_cpu_sockets",
            Type = PropertyType.Integer,
            Description = "Preferred number of sockets.",
            Minimum = 1,
        },
        new()
        {
            Enforced = false,
            Name = "hw_cpu_threads",
            Type = PropertyType.Integer,
            Description = "Preferred number of threads per core.",
            Minimum = 1,
        },
        new()
        {
            Enforced = false,
            Name = "hw_video_model",
            Description = "Video device model the guest gets.",
            Enum = ["bochs", "cirrus", "gop", "none", "qxl", "vga", "virtio", "vmvga", "xen"],
        },
        new()
        {
            Enforced = false,
            Name = "trait:",
            IsPrefix = true,
            Description = "A Placement trait the host must have, e.g. trait:HW_CPU_X86_AVX2=required.",
            Enum = ["required"],
        },
    ];
}
