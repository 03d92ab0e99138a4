using Glance.Api.Identity;
using Glance.Api.Tests.Support;

namespace Glance.Api.Tests;

/// <summary>Glance:Identity:Keystone settings are checked at start-up, every problem named.</summary>
public sealed class KeystoneOptionsTests
{
    private static KeystoneOptions Valid() => new()
    {
        Url = "http://127.0.0.1:5050/v3", Username = "glance", Password = "secret", Project = "service",
    };

    [Fact]
    public void Without_a_url_nothing_else_is_required()
    {
        Assert.True(new KeystoneOptionsValidator().Validate(null, new KeystoneOptions()).Succeeded);
        Assert.True(new KeystoneOptionsValidator().Validate(null, Valid()).Succeeded);
        Assert.True(new KeystoneOptionsValidator().Validate(null, new KeystoneOptions { CacheSeconds = 0 }).Succeeded);
    }

    [Theory]
    [InlineData("Url", "keystone:5000/v3")]
    [InlineData("Url", "ftp://keystone/v3")]
    [InlineData("Url", "/v3")]
    [InlineData("Url", "http://keystone/v3?x=1")]
    [InlineData("Username", "")]
    [InlineData("Password", " ")]
    [InlineData("Project", "")]
    [InlineData("UserDomain", "")]
    [InlineData("ProjectDomain", "")]
    [InlineData("CacheSeconds", "-1")]
    [InlineData("TimeoutSeconds", "0")]
    [InlineData("CacheEntries", "0")]
    public void A_bad_setting_is_named(string key, string value)
    {
        var options = Valid();
        var property = typeof(KeystoneOptions).GetProperty(key)!;
        property.SetValue(options, property.PropertyType == typeof(int) ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);

        var result = new KeystoneOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains($"Glance:Identity:Keystone:{key}", result.FailureMessage);
    }

    [Theory]
    [InlineData("http://keystone:5000/v3", "http://keystone:5000/v3/")]
    [InlineData("http://keystone:5000/v3/", "http://keystone:5000/v3/")]
    [InlineData("http://keystone:5000", "http://keystone:5000/v3/")]
    [InlineData("https://cloud/identity", "https://cloud/identity/v3/")]
    public void The_url_may_omit_v3(string url, string expected) =>
        Assert.Equal(expected, new KeystoneOptions { Url = url }.V3BaseUri().ToString());

    [Fact]
    public void The_service_does_not_start_with_a_url_and_no_credentials()
    {
        var failure = Assert.ThrowsAny<Exception>(() => new GlanceServer(_ => new Dictionary<string, string?>
        {
            ["Glance:Identity:Keystone:Url"] = "http://127.0.0.1:5050/v3",
        }));

        Assert.Contains("Glance:Identity:Keystone:Username", failure.ToString());
    }
}
