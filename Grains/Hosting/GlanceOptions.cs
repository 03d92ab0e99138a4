namespace Glance.Grains.Hosting;

/// <summary>Where and how a Glance silo runs; bound from the <c>Glance</c> configuration section.</summary>
public sealed class GlanceOptions
{
    /// <summary>Configuration section. (The <c>Orleans</c> section is Orleans' own: keep app settings out of it.)</summary>
    public const string Section = "Glance";

    /// <summary>Directory of the embedded profile's durable data (the SQLite database).</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Gateway port for external Orleans clients; 0 turns the gateway off.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>Orleans cluster id.</summary>
    public string ClusterId { get; set; } = "glance";

    /// <summary>Orleans service id (stable across deployments: it scopes stored state).</summary>
    public string ServiceId { get; set; } = "glance";
}
