namespace Glance.Grains.Hosting;

/// <summary>Where and how a Glance silo runs; bound from the <c>Glance</c> configuration section.</summary>
public sealed class GlanceOptions
{
    /// <summary>Configuration section. (The <c>Orleans</c> section is Orleans' own: keep app settings out of it.)</summary>
    public const string Section = "Glance";

    /// <summary>The embedded profile: one process, SQLite and local files (the default).</summary>
    public const string EmbeddedProfile = "embedded";

    /// <summary>The azure profile: a cluster of silos and API nodes on Azure Table and Blob storage.</summary>
    public const string AzureProfile = "azure";

    /// <summary>Which profile: <see cref="EmbeddedProfile"/> or <see cref="AzureProfile"/>.</summary>
    public string Profile { get; set; } = EmbeddedProfile;

    /// <summary>
    /// The address this silo listens on and other silos and clients reach it at (azure profile);
    /// default 127.0.0.1.
    /// </summary>
    public string? AdvertisedAddress { get; set; }

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

    /// <summary>True when <see cref="Profile"/> selects the azure profile.</summary>
    public bool IsAzure => string.Equals(Profile, AzureProfile, StringComparison.OrdinalIgnoreCase);

    /// <summary>Why the options cannot be used, or null when they can.</summary>
    public string? Problem() =>
        !string.Equals(Profile, EmbeddedProfile, StringComparison.OrdinalIgnoreCase) && !IsAzure
            ? $"Unknown profile '{Profile}' in {Section}:Profile (use '{EmbeddedProfile}' or '{AzureProfile}')."
            : SiloPort is < 0 or > 65535 || GatewayPort is < 0 or > 65535 ? $"{Section}:SiloPort and {Section}:GatewayPort must be TCP ports (0-65535)."
            : AdvertisedAddress is { } address && !System.Net.IPAddress.TryParse(address, out _) ? $"{Section}:AdvertisedAddress '{address}' is not an IP address."
            : null;

    /// <summary>The options in <paramref name="configuration"/>, checked.</summary>
    public static GlanceOptions From(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var options = Microsoft.Extensions.Configuration.ConfigurationBinder.Get<GlanceOptions>(configuration.GetSection(Section)) ?? new GlanceOptions();
        return options.Problem() is { } problem ? throw new InvalidOperationException(problem) : options;
    }
}
