using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Glance.Grains.Extensions.FormatInspection;

/// <summary>
/// Format inspection (security, on by default as in current Glance): an image's data must be
/// the disk_format it declares and must not make a hypervisor open other files (a qcow2 backing
/// or external data file, a vmdk extent elsewhere). The header parsing that sets virtual_size
/// finds it while the upload streams; <see cref="FormatInspectionFilter"/> enforces it.
/// </summary>
public sealed class FormatInspectionExtension : GlanceExtension
{
    public override string Alias => "format-inspection";
    public override string Name => "Format inspection";
    public override string Description => "Refuses image data that does not match its disk_format or that references other files (qcow2 backing and data files, vmdk extents), found while the upload streams.";
    public override DateTimeOffset Updated => new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    public override ExtensionKind Kind => ExtensionKind.Behaviour;

    public override bool EnabledByDefault(ExtensionSettings settings) => true;

    public override void AddSiloParts(ISiloBuilder silo, ExtensionSettings settings)
    {
        silo.AddIncomingGrainCallFilter<FormatInspectionFilter>();
        silo.Services.AddSingleton<IImportedDataCheck, ImportedFormatCheck>();
    }
}
