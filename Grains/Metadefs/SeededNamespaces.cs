namespace Glance.Grains.Metadefs;

/// <summary>
/// The namespaces a new service starts with (loaded once, on the catalog's first activation;
/// admins may change or delete them, and a restart reloads nothing). They describe what Nova
/// reads from images and flavors, for Horizon's "Update Metadata" and <c>glance md-*</c>. They
/// never refuse a value: Glance accepts any string for these names (os_distro "talos",
/// hw_disk_bus "nvme", hw_cpu_cores "0"), so none of their properties is enforced; an enum
/// lists the usual values, it does not limit them. Their public <c>OS::Glance::Image</c>
/// properties are also the image property definitions (<see cref="ImageDefinitions"/>).
/// </summary>
public static class SeededNamespaces
{
    private const string Image = ImageDefinitions.ImageResourceType;
    private const string Volume = "OS::Cinder::Volume";
    private const string Flavor = "OS::Nova::Flavor";

    /// <summary>The resource types, in the order Glance's own loader creates them.</summary>
    public static readonly ImmutableArray<string> ResourceTypes =
        [Image, Volume, "OS::Nova::Server", "OS::Nova::Aggregate", Flavor];

    /// <summary>The seeded namespaces (times are stamped when loaded).</summary>
    public static readonly ImmutableArray<MetadefNamespace> All =
    [
        Namespace("OS::OperatingSystem", "Operating system",
            "What the image's guest operating system is, so that the compute service and people treat the guest accordingly.",
            [For(Image), For(Volume, target: "image")],
            Text("os_distro", "Distribution",
                "The guest's distribution in lower case, as libosinfo names it (the list shows the usual ones; any name is accepted).",
                "almalinux", "alpine", "arch", "centos", "cirros", "debian", "fedora", "freebsd", "gentoo", "mandrake",
                "mandriva", "mes", "msdos", "netbsd", "netware", "openbsd", "opensolaris", "opensuse", "rhel", "rocky",
                "sled", "sles", "ubuntu", "windows"),
            Text("os_version", "Version", "The distribution's version as its vendor writes it, e.g. 22.04 or 11.") with { MaxLength = 64 },
            Text("os_type", "Kind", "linux or windows: how the compute service formats ephemeral disks and sets the clock.", "linux", "windows"),
            Text("os_admin_user", "Administrator account", "The account a password set at boot belongs to (root or Administrator by default)."),
            Flag("os_require_quiesce", "Quiesce for snapshots", "Snapshots wait until the guest agent has frozen the file systems."),
            Text("os_secure_boot", "Secure Boot", "Whether the guest boots with UEFI Secure Boot.", "required", "disabled", "optional")),

        Namespace("OS::Compute::CPUTopology", "CPU topology",
            "How the guest's virtual CPUs are laid out in sockets, cores and threads; the flavor's limits bound what an image asks for.",
            [For(Image, "hw_"), For(Flavor, "hw:"), For(Volume, "hw_", "image")],
            Whole("cpu_sockets", "Sockets", "Preferred number of sockets.", 1),
            Whole("cpu_cores", "Cores per socket", "Preferred number of cores per socket.", 1, 1024),
            Whole("cpu_threads", "Threads per core", "Preferred number of threads per core.", 1),
            Whole("cpu_max_sockets", "Most sockets", "The most sockets the guest may be given.", 1),
            Whole("cpu_max_cores", "Most cores per socket", "The most cores per socket the guest may be given.", 1),
            Whole("cpu_max_threads", "Most threads per core", "The most threads per core the guest may be given.", 1)),

        Namespace("OS::Compute::VirtualHardware", "Virtual hardware",
            "The devices the hypervisor gives the guest: disk and network controllers, video, firmware and machine type.",
            [For(Image, "hw_"), For(Volume, "hw_", "image")],
            Text("disk_bus", "Disk bus", "The bus the guest's disks are attached to.",
                "fdc", "ide", "lxc", "sata", "scsi", "uml", "usb", "virtio", "xen"),
            Text("scsi_model", "SCSI controller", "The SCSI controller model when the disk bus is scsi.",
                "virtio-scsi", "lsilogic", "lsisas1068", "buslogic", "vmpvscsi"),
            Text("cdrom_bus", "CD-ROM bus", "The bus a CD-ROM drive is attached to.", "ide", "sata", "scsi", "usb", "virtio", "xen"),
            Text("video_model", "Video device", "The graphics device the guest gets.",
                "bochs", "cirrus", "gop", "none", "qxl", "vga", "virtio", "vmvga", "xen"),
            Whole("video_ram", "Video memory (MiB)", "Video memory for the guest, within the flavor's hw_video:ram_max_mb.", 0),
            Text("vif_model", "Network card", "The model of the guest's network interfaces.",
                "e1000", "e1000e", "igb", "ne2k_pci", "netfront", "pcnet", "rtl8139", "spapr-vlan", "virtio", "vmxnet3"),
            Flag("vif_multiqueue_enabled", "Network multiqueue", "One receive and transmit queue per virtual CPU on virtio network cards."),
            Text("machine_type", "Machine type", "The machine type the guest emulates, e.g. q35 or pc on x86_64, virt on aarch64."),
            Text("firmware_type", "Firmware", "The firmware the guest boots with.", "bios", "uefi"),
            Flag("boot_menu", "Boot menu", "Show the firmware's boot menu at start."),
            Text("pointer_model", "Pointer device", "An absolute pointer for graphical consoles.", "usbtablet"),
            Text("qemu_guest_agent", "QEMU guest agent", "The image runs the QEMU guest agent (needed for quiesced snapshots).", "yes", "no")),

        Namespace("OS::Compute::Hypervisor", "Hypervisor",
            "Which hypervisor and CPU architecture the image needs; the scheduler only places it on hosts that have them.",
            [For(Image)],
            Text("hypervisor_type", "Hypervisor", "The hypervisor the image runs on.", "hyperv", "ironic", "kvm", "lxc", "qemu", "vmware", "xen"),
            Text("vm_mode", "Virtual machine mode", "The ABI the guest needs: hvm (full virtualization), xen (paravirtual), uml or exe.", "hvm", "xen", "uml", "exe"),
            Text("architecture", "CPU architecture", "The CPU architecture the guest runs on, as libosinfo names it.",
                "aarch64", "armv7l", "i686", "ppc64le", "s390x", "x86_64")),

        Namespace("OS::Compute::Watchdog", "Watchdog",
            "A virtual watchdog device that acts when the guest stops responding.",
            [For(Image, "hw_"), For(Flavor, "hw:"), For(Volume, "hw_", "image")],
            Text("watchdog_action", "Watchdog action", "What happens when the watchdog fires; disabled adds no device.",
                "disabled", "reset", "poweroff", "pause", "none")),

        Namespace("OS::Compute::RandomNumberGenerator", "Random number generator",
            "A virtual random number generator, fed by the host's entropy (the flavor must allow it with hw_rng:allowed).",
            [For(Image, "hw_"), For(Volume, "hw_", "image")],
            Text("rng_model", "Device model", "The random number generator device the guest gets.", "virtio")),

        Namespace("OS::Compute::Traits", "Required traits",
            "Placement traits the host must have: any property named trait:NAME with the value required, e.g. trait:HW_CPU_X86_AVX2=required.",
            [For(Image), For(Flavor)],
            Text("trait:", "Trait (trait:NAME)", "A Placement trait the host must have, e.g. trait:HW_CPU_X86_AVX2=required.", "required")
                with { MatchesPrefix = true }),
    ];

    private static MetadefNamespace Namespace(string name, string displayName, string description,
        ImmutableArray<MetadefAssociation> associations, params MetadefProperty[] properties) => new()
        {
            Namespace = name,
            DisplayName = displayName,
            Description = description,
            Visibility = MetadefVisibility.Public,
            // Unprotected: an operator deletes a seeded definition as any other.
            Protected = false,
            Owner = "admin",
            ResourceTypes = associations,
            Properties = [.. properties],
        };

    private static MetadefAssociation For(string resourceType, string? prefix = null, string? target = null) =>
        new() { Name = resourceType, Prefix = prefix, PropertiesTarget = target };

    private static MetadefProperty Text(string name, string title, string description, params string[] usual) =>
        new() { Name = name, Title = title, Type = "string", Description = description, Enum = usual.Length == 0 ? null : [.. usual] };

    private static MetadefProperty Whole(string name, string title, string description, int minimum, int? maximum = null) =>
        new() { Name = name, Title = title, Type = "integer", Description = description, Minimum = minimum, Maximum = maximum };

    private static MetadefProperty Flag(string name, string title, string description) =>
        new() { Name = name, Title = title, Type = "boolean", Description = description };
}
