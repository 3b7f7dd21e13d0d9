using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class DevTokensTests
{
    private static readonly AuthSettings Settings = new() { SigningKey = DevTokens.NewSigningKey() };

    [Fact]
    public async Task A_development_token_carries_the_user_as_subject_and_validates_with_the_same_key()
    {
        var token = DevTokens.Create(Settings, "alice", TimeSpan.FromMinutes(5));

        var result = await Validate(token, Settings.SigningKey!);

        Assert.True(result.IsValid, result.Exception?.Message);
        Assert.Equal("alice", result.Claims[JwtRegisteredClaimNames.Sub]);
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_refused()
    {
        var token = DevTokens.Create(Settings, "mallory", TimeSpan.FromMinutes(5));

        var result = await Validate(token, DevTokens.NewSigningKey());

        Assert.False(result.IsValid);
    }

    [Fact]
    public void A_short_signing_key_is_refused_with_a_clear_message()
    {
        var error = Assert.Throws<InvalidOperationException>(() => DevTokens.SecurityKey(Convert.ToBase64String(new byte[16])));

        Assert.Contains("at least 32 bytes", error.Message);
    }

    private static Task<TokenValidationResult> Validate(string token, string key) =>
        new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = Settings.Issuer,
            ValidAudience = Settings.Audience,
            IssuerSigningKey = DevTokens.SecurityKey(key),
        });
}
